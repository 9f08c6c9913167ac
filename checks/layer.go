package checks

import (
	"context"
	"fmt"
)

// layerRules are the rules about the image's layers themselves. They run
// last, so that they see every layer the other rules read.
var layerRules = []*Rule{imageLayer}

var imageLayer = &Rule{
	ReadsFiles: true,
	ID:         "image/layer",
	Title:      "Every layer entry is one Docker can unpack",
	Severity:   Error,
	Help: `Docker refuses to unpack a layer with an entry that leaves the image root: a name such as
` + "`../../etc/x`" + ` ("is outside of"), a hard link to such a path ("invalid hardlink"), or a relative
symlink that climbs above the root ("invalid symlink"; moby's pkg/archive). The pull, and so
` + "`docker extension install`" + `, fails for every user. Such an entry comes from a build step that
writes a hand-made tar, or from an image built to attack the tools that read it.

The check reports each such entry with its layer and goes on checking everything else (the
entry is skipped). Only the layers the check reads are looked at: the top layers down to the
one holding the last file it needs.

Rebuild the layer from a clean directory (` + "`COPY`" + ` or ` + "`ADD`" + ` of files, not of a crafted tar).`,
	Run: func(ctx context.Context, p *Pass) error {
		for _, v := range p.Target.Variants() {
			defects, err := v.LayerDefects(ctx)
			if err != nil {
				return err
			}
			for _, d := range defects {
				for _, e := range d.Entries {
					p.Report(Finding{Platform: v.PlatformString(),
						Message: fmt.Sprintf("layer %d (%s): %s; Docker refuses to unpack it", d.Layer, d.Digest, e)})
				}
				if d.More > 0 {
					p.Report(Finding{Platform: v.PlatformString(),
						Message: fmt.Sprintf("layer %d (%s): %d more entries outside the image root", d.Layer, d.Digest, d.More)})
				}
			}
		}
		return nil
	},
}
