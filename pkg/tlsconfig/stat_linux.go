package tlsconfig

import (
	"io/fs"
	"syscall"
)

// addSys adds the device, inode and change time, which tell a replaced file (certbot's renewal
// moves a symlink, an atomic write renames a new file into place) from the old one even when
// size and modification time happen to match.
func addSys(id *fileID, fi fs.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	id.dev, id.inode = uint64(st.Dev), st.Ino
	id.ctime = st.Ctim.Nano()
}
