// Package workflows embeds the example workflows, the defaults a fleet binary serves when no
// workflows directory is given.
package workflows

import "embed"

// FS holds every *.yaml file of this directory.
//
//go:embed *.yaml
var FS embed.FS
