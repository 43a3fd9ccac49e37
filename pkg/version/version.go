// Package version holds the build version, set at link time:
// go build -ldflags "-X canistry/pkg/version.Version=v1.2.3".
package version

// Version is the build version ("dev" for go run and tests). It is a var only so the linker
// can set it; nothing assigns it at run time.
var Version = "dev"
