package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version   string
	Commit    string
	Modified  bool
	GoVersion string
}

// readBuildInfo reads the version stamped by the Go toolchain: the module
// version ("(devel)" for a local build) and the VCS revision when built with
// VCS stamping.
func readBuildInfo() buildInfo {
	bi := buildInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	if v := info.Main.Version; v != "" {
		bi.Version = v
	}
	if info.GoVersion != "" {
		bi.GoVersion = info.GoVersion
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bi := readBuildInfo()
			commit := bi.Commit
			if bi.Modified {
				commit += " (modified)"
			}
			_, err := fmt.Fprintf(c.stdout, "greenlang %s\ncommit: %s\ngo: %s\n", bi.Version, commit, bi.GoVersion)
			return err
		},
	}
}
