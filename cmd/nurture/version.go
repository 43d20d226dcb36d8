package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func (c *cli) version(_ context.Context, args []string) error {
	fs := c.flagSet("version", "version", "Prints the version of this build.")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, versionString())
	return nil
}

// versionString names this build: module version, commit and Go version.
func versionString() string {
	v, commit, dirty := "(devel)", "", false
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := "nurture " + v
	if commit != "" {
		out += " commit " + commit[:min(len(commit), 12)]
		if dirty {
			out += "+dirty"
		}
	}
	if ok {
		out += " " + bi.GoVersion
	}
	return fmt.Sprint(out)
}
