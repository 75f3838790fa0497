package main

import (
	"os/exec"
	"strings"
	"testing"
)

// help, -h, --help and --version answer and exit 0; every command's -h lists its flags and
// exits 0; an unknown command or none exits 1 pointing at help.
func TestHelpAndVersion(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Usage: leadledger <command>"},
		{[]string{"-h"}, "Usage: leadledger <command>"},
		{[]string{"--help"}, "verify    check the log"},
		{[]string{"--version"}, "leadledger "},
		{[]string{"version"}, "leadledger "},
		{[]string{"serve", "-h"}, "-config"},
		{[]string{"verify", "--help"}, "-file"},
		{[]string{"export", "-h"}, "-out"},
		{[]string{"migrate", "-h"}, "-config"},
		{[]string{"rebuild", "-h"}, "-config"},
		{[]string{"import", "-h"}, "-config"},
		{[]string{"rotate-key", "-h"}, "-check"},
		{[]string{"rotate-key", "--help"}, "-new-key-file"},
		{[]string{"help"}, "rotate-key"},
		{[]string{"events", "tail", "-h"}, "-follow"},
		{[]string{"leads", "get", "--help"}, "-history"},
		{[]string{"leads", "search", "-h"}, "-email"},
		{[]string{"sinks", "list", "-h"}, "-url"},
		{[]string{"sinks", "create", "-h"}, "-secret-env"},
		{[]string{"sinks", "pause", "-h"}, "-url"},
		{[]string{"sinks", "replay", "-h"}, "-from-position"},
		{[]string{"replays", "watch", "-h"}, "-poll"},
		{[]string{"sinks", "-h"}, "sinks replay SINK_ID"},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("leadledger %s: %v\n%s\nwant exit 0 and %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "leadledger help") {
			t.Errorf("leadledger %s: %v %s; want exit 1 pointing at help", strings.Join(args, " "), err, out)
		}
	}
}
