//go:build !unix

package image

// openNonblock is 0 where opening a file never waits (Windows has no named
// pipes in its file system).
const openNonblock = 0
