package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/docker/desktop-plugin-check/internal/escape"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The header index kept per layer is bounded by its number of entries and
// by the bytes of the names it holds (tar names can be up to a MiB each);
// past either bound only the entries that matter to the paths being looked
// for are kept.
const (
	maxIndexedEntries   = 200_000
	maxIndexedNameBytes = 32 << 20
)

// maxIndexableName is the longest path (or link target) indexed, PATH_MAX:
// no wanted path is longer, so a longer name is never stored.
const maxIndexableName = 4096

// entry is one tar header of a layer, reduced to what lookups need.
type entry struct {
	kind     Kind
	linkname string
	hardlink string // for hard links: the member holding the content
	size     int64
	mode     int64
	// longLink reports a symlink or hard link whose target is longer than
	// maxIndexableName, and so not kept: it resolves to nothing.
	longLink bool
}

// hasContent reports whether the entry is a regular file whose content is
// its own (not a hard link).
func (e *entry) hasContent() bool { return e.kind == Regular && e.hardlink == "" && !e.longLink }

// cost is what the entry at p counts against maxIndexedNameBytes.
func (e *entry) cost(p string) int64 { return int64(len(p) + len(e.linkname) + len(e.hardlink)) }

// spec is what a layer read must capture at a path: up to max bytes of a
// regular file's content and, with tree, every entry below the path.
type spec struct {
	max  int64
	tree bool
}

func (a spec) merge(b spec) spec {
	if b.max > a.max {
		a.max = b.max
	}
	a.tree = a.tree || b.tree
	return a
}

// layerScan is what one streaming read of a layer learned.
type layerScan struct {
	// capture are the paths the read looked for, with what they want.
	capture map[string]spec
	// entries indexes headers: all of them while fullIndex, else only those
	// relevant to capture.
	entries   map[string]*entry
	fullIndex bool
	// whiteouts are paths deleted by this layer (hidden below it); opaque are
	// directories whose lower contents this layer hides.
	whiteouts map[string]bool
	opaque    map[string]bool
	content   map[string][]byte
	// indexBytes is the bytes of the names held by entries, whiteouts and
	// opaque (paths and link targets), kept within maxIndexedNameBytes.
	indexBytes int64
	// complete reports the read reached the end of the layer.
	complete bool
	// defects are the entries Docker refuses to unpack (at most
	// maxLayerDefects); moreDefects counts the rest.
	defects     []string
	moreDefects int
}

// maxLayerDefects caps the defects kept per layer read.
const maxLayerDefects = 10

// defect records an entry Docker would refuse to unpack.
func (s *layerScan) defect(format string, args ...any) {
	if len(s.defects) < maxLayerDefects {
		s.defects = append(s.defects, fmt.Sprintf(format, args...))
		return
	}
	s.moreDefects++
}

// covers reports whether the scan can answer a lookup of p.
func (s *layerScan) covers(p string) bool {
	if s.decides(p) {
		return true
	}
	if !s.complete {
		return false
	}
	if s.fullIndex {
		return true
	}
	_, ok := s.capture[p]
	return ok
}

// coversTree reports whether the scan knows every entry below dir.
func (s *layerScan) coversTree(dir string) bool {
	if !s.complete {
		return false
	}
	return s.fullIndex || s.capture[dir].tree
}

// decides reports whether the layer holds p or a non-directory ancestor.
func (s *layerScan) decides(p string) bool {
	if _, ok := s.entries[p]; ok {
		return true
	}
	for _, a := range ancestors(p) {
		if e, ok := s.entries[a]; ok && e.kind != Dir {
			return true
		}
	}
	return false
}

// hides reports whether this layer deletes p for the layers below it.
func (s *layerScan) hides(p string) bool {
	if s.whiteouts[p] {
		return true
	}
	for _, a := range ancestors(p) {
		if s.whiteouts[a] || s.opaque[a] {
			return true
		}
	}
	return s.opaque["/"] && p != "/"
}

// closes reports whether this layer hides every lower entry below dir: it
// makes dir opaque, deletes it, or holds a non-directory at or above it.
func (s *layerScan) closes(dir string) bool {
	if s.opaque[dir] || s.hides(dir) {
		return true
	}
	if e, ok := s.entries[dir]; ok && e.kind != Dir {
		return true
	}
	for _, a := range ancestors(dir) {
		if e, ok := s.entries[a]; ok && e.kind != Dir {
			return true
		}
	}
	return false
}

// relevant reports whether an entry at p matters to the captured paths: it
// is one of them, an ancestor of one, or below a wanted tree.
func (s *layerScan) relevant(p string) bool {
	if p == "/" {
		return true
	}
	for c, sp := range s.capture {
		if c == p || isBelow(c, p) {
			return true
		}
		if sp.tree && (c == "/" || isBelow(p, c)) {
			return true
		}
	}
	return false
}

// isBelow reports whether p lies below dir (neither being "/"), without
// building dir+"/": p may be long.
func isBelow(p, dir string) bool {
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// admit reports whether a name of n bytes at p goes into the index, pruning
// the index when a bound is reached. It fails when the entries that matter
// alone pass maxIndexedNameBytes (a wanted tree of very many long names).
func (s *layerScan) admit(p string, n int64) (bool, error) {
	if len(p) > maxIndexableName {
		return false, nil
	}
	if s.fullIndex && (len(s.entries)+len(s.whiteouts)+len(s.opaque) >= maxIndexedEntries ||
		s.indexBytes+n > maxIndexedNameBytes) {
		s.prune()
	}
	if !s.fullIndex && !s.relevant(p) {
		return false, nil
	}
	if s.indexBytes+n > maxIndexedNameBytes {
		return false, fmt.Errorf("the names of the entries wanted from the layer pass %d bytes", maxIndexedNameBytes)
	}
	return true, nil
}

// mark records p in set (whiteouts or opaque) if admitted.
func (s *layerScan) mark(set map[string]bool, p string) error {
	if set[p] {
		return nil
	}
	ok, err := s.admit(p, int64(len(p)))
	if ok {
		set[p] = true
		s.indexBytes += int64(len(p))
	}
	return err
}

// satisfies reports whether the scan answers lookups of all paths, with the
// content and trees they want.
func (s *layerScan) satisfies(paths map[string]spec) bool {
	for p, sp := range paths {
		if !s.covers(p) || sp.tree && !s.coversTree(p) {
			return false
		}
		if sp.max <= 0 {
			continue
		}
		e, ok := s.entries[p]
		if !ok || !e.hasContent() {
			continue
		}
		data, ok := s.content[p]
		if !ok || (int64(len(data)) < sp.max && int64(len(data)) < e.size) {
			return false
		}
	}
	return true
}

// done reports whether every captured path is decided by this layer, with
// its content, so the rest of the stream can be skipped. A wanted tree is
// never done before the end.
func (s *layerScan) done() bool {
	for p, sp := range s.capture {
		if sp.tree || !s.decides(p) {
			return false
		}
		if e, ok := s.entries[p]; ok && e.hasContent() && sp.max > 0 {
			if _, ok := s.content[p]; !ok {
				return false
			}
		}
	}
	return true
}

// scanCache shares layer reads between the variants of one image: blobs
// they have in common are fetched once.
type scanCache struct {
	src     source
	sem     chan struct{}
	tempDir string // parent of the run's spool directory; "" for os.TempDir()
	mu      sync.Mutex
	items   map[v1.Hash]*scanItem
	// spool is this image's directory in the run's spool directory, made
	// on first use; release removes it.
	spool   string
	release func() error
	// spoolBlobs is set for remote sources: a local blob is read again
	// from where it is rather than copied.
	spoolBlobs bool
	closed     bool // after close, nothing is spooled
	// reads counts layer reads (network or spool), for tests.
	reads int
	// held counts the streams of partly read blobs kept open to resume.
	held int
	// warm are the requests for layer blobs sent ahead of their read (see
	// warm), by digest.
	warm map[v1.Hash]*warmBlob
	// cooled are the blobs whose request was sent ahead and closed unread:
	// the guess was wrong once, and is not made again (a later question
	// about the same layers would send it again). wasted and hintWasted
	// are their bytes (the guesses', the hints'), fetched the bytes read
	// from layer blobs.
	cooled                      map[v1.Hash]bool
	wasted, hintWasted, fetched int64
	// sending counts the requests sent ahead whose response has not come
	// (tests wait for them).
	sending sync.WaitGroup
	// memSpooled is the memory reserved by blobs spooled in memory.
	memSpooled int64
	// spoolMax bounds the spooled copy of one blob (tests lower it);
	// blobs of memBlob bytes or less are spooled in memory (memSpoolBlob;
	// tests lower it to see files).
	spoolMax, memBlob int64
}

// maxHeldStreams bounds the streams of partly read blobs kept open (each
// an open connection): past it, a blob read in part is let go and fetched
// again if a later question needs more of it. The registry puller's own
// stream limit (pullerJobs) leaves room for all of them, so held streams
// cannot stall other fetches.
const maxHeldStreams = 16

type scanItem struct {
	mu   sync.Mutex
	scan *layerScan
	// spooled is the path of a complete, verified copy of the compressed
	// blob, kept so that a second read with other questions does not
	// fetch it again; spooledMem is such a copy kept in memory (a small
	// blob, see memSpoolBlob).
	spooled    string
	spooledMem []byte
	// partial is the copy of a blob whose read stopped early, with the rest
	// of the stream held open, so that a later read resumes the download
	// instead of fetching the blob again.
	partial *partialBlob
	// err is a digest mismatch found by an earlier read: the blob is not
	// read again, and every lookup in it fails.
	err error
	// read is what was read of the blob so far; guarded by scanCache.mu.
	read LayerRead
}

// partialBlob is a blob fetched up to n bytes, spooled, with the source
// stream still open at byte n.
type partialBlob struct {
	// file is the spool copy, open for appending; nil for a copy kept in
	// mem (a small blob), whose reserved memory free gives back.
	file *os.File
	mem  []byte
	free func()
	n    int64         // bytes in the copy
	rest io.ReadCloser // the source stream, positioned at byte n
	// max bounds the copy (spoolMax); dropped reports that the read went
	// past it, and the copy was removed.
	max     int64
	dropped bool
}

func (pb *partialBlob) Write(b []byte) (int, error) {
	if pb.dropped {
		return len(b), nil
	}
	if pb.n+int64(len(b)) > pb.max {
		// Past the bound: stop copying and let the copy go.
		pb.dropped = true
		pb.drop()
		return len(b), nil
	}
	if pb.file == nil {
		pb.mem = append(pb.mem, b...)
		pb.n += int64(len(b))
		return len(b), nil
	}
	n, err := pb.file.Write(b)
	pb.n += int64(n)
	return n, err
}

// drop removes the copy.
func (pb *partialBlob) drop() {
	if pb.file == nil {
		pb.mem = nil
		pb.free()
		return
	}
	pb.file.Close()
	os.Remove(pb.file.Name())
}

// prefix opens the copy for reading its first n bytes.
func (pb *partialBlob) prefix() (io.Reader, func(), error) {
	if pb.file == nil {
		return bytes.NewReader(pb.mem[:pb.n]), func() {}, nil
	}
	f, err := os.Open(pb.file.Name())
	if err != nil {
		return nil, nil, err
	}
	return io.NewSectionReader(f, 0, pb.n), func() { f.Close() }, nil
}

func (pb *partialBlob) discard() {
	pb.rest.Close()
	if !pb.dropped {
		pb.drop()
	}
}

// A blob of memSpoolBlob bytes or less is spooled in memory rather than to
// a file, within maxMemSpool for the image: creating a file per small
// layer cost a fraction of a millisecond each (0.3-0.7 ms here), on the
// path of a read that goes through fifty of them one after another.
const (
	memSpoolBlob = 1 << 20
	maxMemSpool  = 16 << 20
)

// reserveMem reserves n bytes of the in-memory spool, if they are left.
func (c *scanCache) reserveMem(n int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.memSpooled+n > maxMemSpool {
		return false
	}
	c.memSpooled += n
	return true
}

func (c *scanCache) freeMem(n int64) {
	c.mu.Lock()
	c.memSpooled -= n
	c.mu.Unlock()
}

func newScanCache(src source, concurrency int, tempDir string) *scanCache {
	_, remote := src.(*registrySource)
	if remote {
		// A run that may spool first removes what killed runs left.
		sweepStaleSpools(tempDir)
	}
	return &scanCache{src: src, sem: make(chan struct{}, concurrency), tempDir: tempDir, items: map[v1.Hash]*scanItem{}, spoolBlobs: remote, spoolMax: spoolMax, memBlob: memSpoolBlob}
}

// close removes spooled blobs (files and copies in memory).
func (c *scanCache) close() error {
	var partials []*partialBlob
	defer func() {
		// After c.mu is let go: a copy in memory gives its reservation
		// back under it (a file copy goes before the spool directory).
		for _, pb := range partials {
			pb.discard()
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, w := range c.warm {
		go func() {
			<-w.ready
			if w.rc != nil {
				w.rc.Close()
			}
		}()
	}
	c.warm = nil
	for _, it := range c.items {
		// A blob being read now is settled by its read, which sees closed.
		if !it.mu.TryLock() {
			continue
		}
		if pb := it.partial; pb != nil {
			if pb.file == nil {
				partials = append(partials, pb)
			} else {
				pb.discard()
			}
			it.partial = nil
			c.held--
		}
		it.spooledMem = nil
		it.mu.Unlock()
	}
	if c.release == nil {
		return nil
	}
	err := c.release()
	c.spool, c.release = "", nil
	return err
}

// spoolDir returns the image's spool directory, creating it on first use.
func (c *scanCache) spoolDir() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New("spooling a blob of a closed image")
	}
	if c.spool == "" {
		dir, release, err := acquireSpool(c.tempDir)
		if err != nil {
			return "", err
		}
		c.spool, c.release = dir, release
	}
	return c.spool, nil
}

// spoolMax bounds what of one blob is spooled: a read is copied to disk
// only up to it, so that a read that stops early can be resumed and a
// small blob read again without a fetch. A blob read past it (a large
// base layer read to its end to prove a path absent) is not kept: it is
// rarely asked again, and is fetched again if it is. (Before, every
// remote blob up to 512 MiB was kept: 239 MB of temp files when
// metadata.json sat in the base layer.)
const spoolMax = 64 << 20

// earlyStopMin is the blob size from which a read stops as soon as every
// wanted path is decided, instead of reading on to keep a full index.
const earlyStopMin = 8 << 20

// verifyTail is how close to the end of a blob a read that stops early
// must be for the rest to be read too, so that the blob is verified.
const verifyTail = 256 << 10

// digestless is a source that names some blobs by digests it made up (from
// an archive member's name): their content cannot be verified.
type digestless interface {
	digestless(v1.Hash) bool
}

// checkable reports whether a blob's content can be checked against its
// digest.
func (c *scanCache) checkable(h v1.Hash) bool {
	dl, ok := c.src.(digestless)
	return !ok || !dl.digestless(h)
}

// blobRead is one read of a layer blob.
type blobRead struct {
	// r is what the tar reader reads, from the start of the blob, hashed.
	r *digestReader
	// spooled reports a read of the complete copy of a blob that was
	// verified when it was fetched.
	spooled bool
	// settle keeps what the read fetched, as it ended, and closes it.
	settle func(readEnd)
}

// warmBlob is a request for a layer blob sent ahead of its read.
type warmBlob struct {
	size int64
	// hinted reports a request sent on the history's word (see
	// layerSteps) rather than within the byte budget.
	hinted bool
	ready  chan struct{} // closed once rc or err is set
	rc     io.ReadCloser
	err    error
}

// Requests sent ahead are of two kinds. Guesses (the layer below may be
// needed, nothing says so) are at most maxGuessed at once, and their bytes,
// in flight or closed unread, within warmBudget of the layer bytes the image
// fetched: what they leave unread on the wire stays within 10% of the
// minimum (DESIGN section 4; issue 15 counts what is in flight). Requests
// on the history's word (the layers above are RUN steps that name no
// wanted path, so the read goes on past them) are at most maxWarm at once
// in all, and their bytes, in flight or closed unread, within maxHinted:
// what wrong hints can leave unread on the wire in all. A request closed
// unread, of either kind, is not sent again.
const (
	maxWarm    = 128
	maxGuessed = 4
	warmBudget = 0.10
	maxHinted  = 2 << 20
)

// warmAhead sends the request for a layer blob that a read of the layers
// above it may soon need, so that its round trip overlaps their reads
// (layers are read top-down, each only when still needed: 45 small layers
// cost 45 serial round trips). Only the request is sent: nothing is read
// from the stream, and cool closes it unread when the read never comes,
// so the bytes read stay the minimum. Blobs already read, held, spooled
// or warming, local sources, and blobs of earlyStopMin or more (a large
// stream left unread would fill buffers) are left alone. hinted says the
// request is sent on the history's word (see the constants above).
func (c *scanCache) warmAhead(ctx context.Context, d v1.Descriptor, hinted bool) bool {
	if !c.spoolBlobs || d.Size <= 0 || d.Size >= earlyStopMin {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if it := c.items[d.Digest]; it != nil {
		// Its fields are the read's (it.mu): a blob being read now needs
		// no request ahead, so only an idle one is looked at.
		if !it.mu.TryLock() {
			return false
		}
		known := it.scan != nil || it.partial != nil || it.spooled != "" || it.spooledMem != nil || it.err != nil
		it.mu.Unlock()
		if known {
			return false
		}
	}
	if c.warm == nil {
		c.warm = map[v1.Hash]*warmBlob{}
	}
	if _, ok := c.warm[d.Digest]; ok || len(c.warm) >= maxWarm || c.cooled[d.Digest] {
		return false
	}
	// A request sent ahead may bring its blob into buffers even if it is
	// never read: what is in flight ahead of each kind stays within its
	// bound, so the bytes on the wire stay near the minimum.
	inflight, n := d.Size, 1
	for _, w := range c.warm {
		if w.hinted == hinted {
			inflight += w.size
			n++
		}
	}
	switch {
	case hinted && inflight+c.hintWasted > maxHinted:
		return false
	case !hinted && (n > maxGuessed || float64(inflight+c.wasted) > warmBudget*float64(c.fetched)):
		return false
	}
	w := &warmBlob{size: d.Size, hinted: hinted, ready: make(chan struct{})}
	c.warm[d.Digest] = w
	c.sending.Add(1)
	go func() {
		defer c.sending.Done()
		defer close(w.ready)
		w.rc, w.err = c.src.open(ctx, d)
	}()
	return true
}

// takeWarm returns the stream of a request sent ahead for d, if any.
func (c *scanCache) takeWarm(d v1.Descriptor) io.ReadCloser {
	c.mu.Lock()
	w := c.warm[d.Digest]
	delete(c.warm, d.Digest)
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	<-w.ready
	if w.err != nil {
		return nil // fetched afresh (and the error, if any, reported) by the read
	}
	return w.rc
}

// cool closes the streams of requests sent ahead (by the caller, for these
// digests) for layers that were not read after all.
func (c *scanCache) cool(sent []v1.Hash) {
	for _, d := range sent {
		c.mu.Lock()
		w := c.warm[d]
		delete(c.warm, d)
		if w != nil {
			if c.cooled == nil {
				c.cooled = map[v1.Hash]bool{}
			}
			c.cooled[d] = true
			if w.hinted {
				c.hintWasted += w.size
			} else {
				c.wasted += w.size
			}
		}
		c.mu.Unlock()
		if w != nil {
			go func() {
				<-w.ready
				if w.rc != nil {
					w.rc.Close()
				}
			}()
		}
	}
}

// open opens a layer blob, from the spool when an earlier read kept it.
func (c *scanCache) open(ctx context.Context, it *scanItem, d v1.Descriptor) (*blobRead, error) {
	checkable := c.checkable(d.Digest)
	if it.spooledMem != nil {
		return &blobRead{r: newDigestReader(bytes.NewReader(it.spooledMem), d, false), spooled: true, settle: func(readEnd) {}}, nil
	}
	if it.spooled != "" {
		f, err := os.Open(it.spooled)
		if err == nil {
			return &blobRead{r: newDigestReader(f, d, false), spooled: true, settle: func(readEnd) { f.Close() }}, nil
		}
	}
	if pb := it.partial; pb != nil {
		// Resume: what was fetched comes from the spool, the rest from the
		// stream that was left open, appended to the spool as it arrives.
		// The digest covers both.
		it.partial = nil
		c.mu.Lock()
		c.held--
		c.mu.Unlock()
		prefix, done, err := pb.prefix()
		if err != nil {
			pb.discard()
		} else {
			r := io.MultiReader(prefix, io.TeeReader(pb.rest, pb))
			return &blobRead{r: newDigestReader(r, d, checkable), settle: func(end readEnd) {
				done()
				c.settle(it, pb, end)
			}}, nil
		}
	}
	rc := c.takeWarm(d)
	if rc == nil {
		var err error
		if rc, err = c.src.open(ctx, d); err != nil {
			return nil, err
		}
	}
	// Bound the read (and the spooled copy) by the size the manifest
	// gives: a source that sends more is wrong, not a reason to read on.
	rc = &sizedReadCloser{rc: rc, left: d.Size, d: d}
	if !c.spoolBlobs || d.Size <= 0 {
		return &blobRead{r: newDigestReader(rc, d, checkable), settle: func(readEnd) { rc.Close() }}, nil
	}
	pb, err := c.spoolCopy(d.Size, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &blobRead{r: newDigestReader(io.TeeReader(rc, pb), d, checkable), settle: func(end readEnd) { c.settle(it, pb, end) }}, nil
}

// spoolCopy makes the copy a read of a blob of size bytes from rc keeps: in
// memory for a small blob (while memory is left), else in a spool file.
func (c *scanCache) spoolCopy(size int64, rc io.ReadCloser) (*partialBlob, error) {
	if size <= c.memBlob && c.reserveMem(size) {
		return &partialBlob{mem: make([]byte, 0, size), free: func() { c.freeMem(size) }, rest: rc, max: c.spoolMax}, nil
	}
	dir, err := c.spoolDir()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "blob-")
	if err != nil {
		return nil, fmt.Errorf("spooling blob: %w", err)
	}
	return &partialBlob{file: f, rest: rc, max: c.spoolMax}, nil
}

// readEnd is how a read of a layer ended.
type readEnd int

const (
	readFailed  readEnd = iota // an error: nothing is kept
	readStopped                // stopped early: the rest may be resumed
	readWhole                  // read to the end, and verified if it can be
)

// settle keeps what a read of a spooled blob fetched: the whole copy, or the
// partial copy with the stream held open for a later read.
func (c *scanCache) settle(it *scanItem, pb *partialBlob, end readEnd) {
	if pb.dropped {
		pb.discard() // nothing kept: a later question fetches it again
		return
	}
	switch end {
	case readWhole:
		pb.rest.Close()
		if pb.file == nil {
			it.spooledMem = pb.mem
			return
		}
		if err := pb.file.Close(); err != nil {
			os.Remove(pb.file.Name())
			return
		}
		it.spooled = pb.file.Name()
	case readStopped:
		c.mu.Lock()
		full := c.closed || c.held >= maxHeldStreams
		if !full {
			c.held++
		}
		c.mu.Unlock()
		if full { // or the image was closed meanwhile
			// Too many streams held open already: a later question
			// fetches this blob again rather than keep one more open.
			pb.discard()
			return
		}
		it.partial = pb
	default:
		pb.discard()
	}
}

// sizedReadCloser reads at most the descriptor's size, and fails if the
// blob turns out to be larger.
type sizedReadCloser struct {
	rc   io.ReadCloser
	left int64
	d    v1.Descriptor
}

func (s *sizedReadCloser) Read(p []byte) (int, error) {
	if s.left <= 0 {
		var one [1]byte
		n, err := io.ReadFull(s.rc, one[:])
		if n > 0 {
			return 0, fmt.Errorf("blob %s is larger than the %d bytes its descriptor gives", s.d.Digest, s.d.Size)
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return 0, err
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.rc.Read(p)
	s.left -= int64(n)
	return n, err
}

func (s *sizedReadCloser) Close() error { return s.rc.Close() }

// scan returns a read of the layer that answers lookups of paths, reading
// the layer again only when no earlier read does.
func (c *scanCache) scan(ctx context.Context, d v1.Descriptor, paths map[string]spec) (*layerScan, error) {
	c.mu.Lock()
	it, ok := c.items[d.Digest]
	if !ok {
		it = &scanItem{}
		c.items[d.Digest] = it
	}
	c.mu.Unlock()

	it.mu.Lock()
	defer it.mu.Unlock()
	if it.err != nil {
		return nil, it.err
	}
	capture := map[string]spec{}
	if it.scan != nil {
		if it.scan.satisfies(paths) {
			return it.scan, nil
		}
		for p, sp := range it.scan.capture {
			capture[p] = sp
		}
	}
	for p, sp := range paths {
		capture[p] = capture[p].merge(sp)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	resumed := it.partial != nil
	s, err := c.read(ctx, it, d, capture)
	if err != nil && resumed && ctx.Err() == nil && !isDigestError(err) {
		// The held stream may have gone stale (an idle connection the
		// registry closed): fetch the blob afresh, once.
		s, err = c.read(ctx, it, d, capture)
	}
	if err != nil {
		if isDigestError(err) {
			it.err = err
		}
		return nil, err
	}
	it.scan = s
	return s, nil
}

// read reads the layer once, capturing what capture asks for. A read that
// reaches the end of the tar stream reads the blob to its end and checks
// it against its digest: a mismatch fails the read.
func (c *scanCache) read(ctx context.Context, it *scanItem, d v1.Descriptor, capture map[string]spec) (*layerScan, error) {
	br, err := c.open(ctx, it, d)
	if err != nil {
		return nil, err
	}
	s, err := readLayer(ctx, br.r, d.Size >= earlyStopMin, capture)
	end, verified := readFailed, br.spooled
	switch {
	case err != nil:
	case br.spooled && s.complete:
		end = readWhole
	case br.spooled || !s.complete && d.Size-br.r.n > verifyTail:
		end = readStopped
	default:
		// The end of the tar stream, or close to the end of the blob:
		// read the rest, so that what was read is verified.
		if verified, err = br.r.finish(ctx, d); err == nil {
			end = readWhole
		}
	}
	br.settle(end)
	if !br.spooled {
		c.noteRead(it, d, br.r.n, end == readWhole || isDigestError(err), verified)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// noteRead records what a read of the blob got: n bytes, to its end or
// not, verified or not.
func (c *scanCache) noteRead(it *scanItem, d v1.Descriptor, n int64, complete, verified bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &it.read
	c.fetched += max(0, n-r.Bytes)
	r.Digest, r.Size = d.Digest, d.Size
	r.Bytes = max(r.Bytes, n)
	r.Complete = r.Complete || complete
	r.Verified = r.Verified || verified
}

// ErrOutsideRoot reports a layer entry whose name climbs out of the image root.
var ErrOutsideRoot = errors.New("tar entry points outside the image root")

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// readLayer streams one layer and records what capture asks for. With
// stopEarly it stops as soon as every captured path is decided.
func readLayer(ctx context.Context, rc io.Reader, stopEarly bool, capture map[string]spec) (*layerScan, error) {
	s, err := scanLayer(ctx, rc, stopEarly, capture)
	if err != nil && ctx.Err() != nil {
		// Whatever stage noticed it, the run was cancelled or timed out.
		return nil, ctx.Err()
	}
	return s, err
}

// scanLayer is readLayer, with every read of the compressed and of the
// decompressed stream failing once ctx is done: reading or skipping one
// huge entry stops too.
func scanLayer(ctx context.Context, rc io.Reader, stopEarly bool, capture map[string]spec) (*layerScan, error) {
	r, err := decompress(&ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return nil, err
	}
	defer r.Close()

	s := &layerScan{capture: capture, entries: map[string]*entry{}, fullIndex: true,
		whiteouts: map[string]bool{}, opaque: map[string]bool{}, content: map[string][]byte{}}
	tr := tar.NewReader(&ctxReader{ctx: ctx, r: r})
	for {
		h, err := tr.Next()
		if err == io.EOF {
			s.complete = true
			return s, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar stream: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX defaults for the entries that follow, not an entry
		}
		p, err := entryPath(h.Name)
		if err != nil {
			// Docker refuses the layer ("is outside of"); the entry is
			// a defect of the image, and the rest is still read.
			s.defect("entry %s climbs out of the image root", quoteName(h.Name))
			continue
		}
		dir, base := path.Split(p)
		dir = cleanPath(dir)
		switch {
		case base == opaqueMarker:
			if err := s.mark(s.opaque, dir); err != nil {
				return nil, err
			}
			continue
		case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix) || base == whiteoutPrefix ||
			base == whiteoutPrefix+"." || base == whiteoutPrefix+"..":
			// Other AUFS metadata (.wh..wh.plnk) or a whiteout naming no
			// entry of this directory: nothing to hide.
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			// A whiteout of a name too long to index hides nothing that
			// is ever looked up.
			target := cleanPath(dir + "/" + strings.TrimPrefix(base, whiteoutPrefix))
			if err := s.mark(s.whiteouts, target); err != nil {
				return nil, err
			}
			continue
		}
		e := &entry{size: h.Size, mode: h.Mode}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.kind = Regular
		case tar.TypeDir:
			e.kind = Dir
		case tar.TypeSymlink:
			e.kind = Symlink
			if climbsOut(path.Join(strings.TrimPrefix(path.Dir(p), "/"), h.Linkname)) && !path.IsAbs(h.Linkname) {
				// Docker: "invalid symlink"; resolution here stays inside.
				s.defect("symlink %s -> %s points outside the image root", quoteName(h.Name), quoteName(h.Linkname))
			}
			if len(h.Linkname) > maxIndexableName {
				e.longLink = true
			} else {
				e.linkname = h.Linkname
			}
		case tar.TypeLink:
			target, err := entryPath(h.Linkname)
			if err != nil {
				// Docker: "invalid hardlink". The link resolves to nothing.
				s.defect("hard link %s -> %s points outside the image root", quoteName(h.Name), quoteName(h.Linkname))
				target, e.longLink = "", true
			}
			e.kind = Regular
			if e.longLink || len(target) > maxIndexableName {
				e.longLink = true
				break
			}
			e.hardlink = target
			if t, ok := s.entries[target]; ok {
				e.size = t.size
			}
		default:
			e.kind = Other
		}
		old := s.entries[p]
		n := e.cost(p)
		if old != nil {
			n -= old.cost(p)
		}
		ok, err := s.admit(p, n)
		if err != nil {
			return nil, err
		}
		if ok {
			s.entries[p] = e
			s.indexBytes += n
		}
		if sp, ok := s.capture[p]; ok && sp.max > 0 && e.hasContent() {
			data, err := io.ReadAll(io.LimitReader(tr, sp.max))
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
			s.content[p] = data
		}
		if (stopEarly || !s.fullIndex) && s.done() {
			return s, nil
		}
	}
}

// prune drops the index entries that do not matter to the captured paths.
func (s *layerScan) prune() {
	s.fullIndex = false
	for p, e := range s.entries {
		if !s.relevant(p) {
			delete(s.entries, p)
			s.indexBytes -= e.cost(p)
		}
	}
	for _, set := range []map[string]bool{s.whiteouts, s.opaque} {
		for p := range set {
			if !s.relevant(p) {
				delete(set, p)
				s.indexBytes -= int64(len(p))
			}
		}
	}
}

// entryPath turns a tar member name into an absolute clean path, refusing
// names that climb out of the root.
func entryPath(name string) (string, error) {
	rel := strings.TrimLeft(name, "/")
	if climbsOut(rel) {
		return "", fmt.Errorf("%w: %q", ErrOutsideRoot, name)
	}
	return cleanPath(rel), nil
}

// climbsOut reports whether a path relative to the root leaves it once
// cleaned ("a/../../x").
func climbsOut(rel string) bool {
	rel = path.Clean(rel)
	return rel == ".." || strings.HasPrefix(rel, "../")
}

// quoteName quotes an untrusted tar name for a message, cut to 200 runes.
func quoteName(s string) string { return escape.Quote(s, 200) }

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// annotatedReader says which stage of reading failed.
type annotatedReader struct {
	r    io.Reader
	what string
}

func (a *annotatedReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", a.what, err)
	}
	return n, err
}

// decompress detects gzip, zstd or plain tar by magic bytes.
func decompress(rc io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && len(magic) == 0 {
		if err == io.EOF {
			return nil, fmt.Errorf("layer is empty")
		}
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("opening gzip stream: %w", err)
		}
		return readCloser{Reader: &annotatedReader{r: zr, what: "decompressing gzip"}, close: zr.Close}, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("opening zstd stream: %w", err)
		}
		return readCloser{Reader: &annotatedReader{r: zr, what: "decompressing zstd"}, close: func() error { zr.Close(); return nil }}, nil
	}
	return io.NopCloser(br), nil
}

// defectsOf returns the defects found in the blob's latest read.
func (c *scanCache) defectsOf(d v1.Hash) ([]string, int) {
	c.mu.Lock()
	it := c.items[d]
	c.mu.Unlock()
	if it == nil {
		return nil, 0
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.scan == nil {
		return nil, 0
	}
	return append([]string(nil), it.scan.defects...), it.scan.moreDefects
}
