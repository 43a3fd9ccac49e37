package ws

import "embed"

// The JavaScript client of /ws (client/client.js, an ES module) and its TypeScript
// declarations, embedded so that the notifier serves them beside /ws: GET /ws/client.js and
// GET /ws/client.d.ts (and the api through its proxy). Its tests are client/client.test.mjs,
// run against the real notifier binary by cmd/notifier's TestWSClient_Node.
//
//go:embed client/client.js client/client.d.ts
var clientFS embed.FS

// ClientFile is one file of the JavaScript client.
type ClientFile struct {
	Path        string // where it is served: /ws/client.js, /ws/client.d.ts
	ContentType string
	Body        []byte
}

// ClientFiles returns the client module and its declarations.
func ClientFiles() []ClientFile {
	read := func(name string) []byte {
		b, err := clientFS.ReadFile("client/" + name)
		if err != nil {
			panic(err) // embedded above: cannot fail
		}
		return b
	}
	return []ClientFile{
		{"/ws/client.js", "text/javascript; charset=utf-8", read("client.js")},
		{"/ws/client.d.ts", "application/typescript; charset=utf-8", read("client.d.ts")},
	}
}
