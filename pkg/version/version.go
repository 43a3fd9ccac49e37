// Package version holds the build version and commit, set at link time:
// go build -ldflags "-X canistry/pkg/version.Version=v1.2.3 -X canistry/pkg/version.Commit=abc1234".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the build version ("dev" for go run and tests). It is a var only so the linker
// can set it; nothing assigns it at run time.
var Version = "dev"

// Commit is the git commit the binary was built from, set by the linker like Version. When it
// is unset, CommitID falls back to the revision the Go toolchain stamps into a build from a git
// checkout (-buildvcs).
var Commit = ""

// CommitID returns Commit, or the VCS revision of the build info (abbreviated, "+dirty" when the
// tree had changes), or "unknown".
func CommitID() string {
	if Commit != "" {
		return Commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return rev
}

// String is the one line --version prints: name, version, commit and the Go toolchain.
func String(name string) string {
	return fmt.Sprintf("%s %s (commit %s, %s %s/%s)", name, Version, CommitID(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
