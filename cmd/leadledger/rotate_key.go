package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/leadledger/leadledger/adapters/config"
	"github.com/leadledger/leadledger/adapters/sealed"
	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore/audit"
)

// errStale is rotate-key's failure when values are left under another key than the current one.
var errStale = errors.New("not every value is sealed under the current master key")

// resealPasses bounds how often rotate-key goes over the database: a server still sealing
// with the old key as its current one (not restarted yet) may add values behind it.
const resealPasses = 3

const rotateKeyUsage = `Usage: leadledger rotate-key [--config FILE] [--check | --new-key-file]

Re-seals, under the current master key, every value sealed at rest under an older one: sink
secrets (and a rotated-out secret still signing), CRM credentials, and the checkpoint signing
key kept in the database. Each value is written alone, only if unchanged since it was read, so
servers keep serving, and it can be stopped and run again at any time: a value is always under
the old key or the new one. It prints how many values it re-sealed per table. No key is shown,
only key ids.

The keyring is the server's: master_key_env (or the key file) is the current key, and the keys
in master_key_previous_env (and the key file's .previous) are the older ones. First give every
server the new key as current and the old one as previous, restarting them one at a time; then
run rotate-key; then rotate-key --check; then drop the old key. See docs/operations.md.

`

// rotateKey re-seals every value sealed under an older master key, counts them (--check), or
// starts a key file's rotation (--new-key-file).
func rotateKey(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leadledger rotate-key", flag.ContinueOnError)
	path := fs.String("config", getenv("LEDGER_CONFIG"), "YAML configuration file (or LEDGER_CONFIG)")
	check := fs.Bool("check", false, "re-seal nothing: count the values not under the current master key, and exit 1 if there is any")
	newKeyFile := fs.Bool("new-key-file", false, "with a master key file (no master_key_env): keep it as FILE.previous, write a new key in FILE, and stop")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), rotateKeyUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rotate-key takes no arguments, got %q", fs.Arg(0))
	}
	if *check && *newKeyFile {
		return errors.New("rotate-key: give --check or --new-key-file, not both")
	}
	cfg, err := configAt(*path, getenv)
	if err != nil {
		return err
	}
	if *newKeyFile {
		return newMasterKeyFile(cfg, stdout)
	}
	log := newLogger(cfg.LogLevel)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	registry, err := sinks.NewRegistry(ctx, store)
	if err != nil {
		return err
	}
	tree, err := audit.NewTree(ctx, store) // creates the signing key's table if need be
	if err != nil {
		return err
	}
	keyring, err := openMasterKeyring(cfg, log, false)
	if err != nil {
		return err
	}
	ids := keyring.KeyIDs()
	fmt.Fprintf(stdout, "master key %s; older keys it opens: %s\n", ids[0], orNone(ids[1:]))
	if *check {
		return checkSealed(ctx, tree, registry, keyring, stdout)
	}

	resealed := map[string]map[string]int{} // table -> column -> values re-sealed
	current := map[string]int{}             // table -> values already under the current key (first pass)
	var failed []string
	for pass := range resealPasses {
		r, err := registry.ResealCredentials(ctx, keyring)
		for _, c := range r.Resealed {
			add(resealed, "sinks", c.Column)
		}
		if pass == 0 {
			current["sinks"] = r.Current
		}
		if err != nil {
			report(stdout, resealed, current)
			return fmt.Errorf("rotate-key: %w (what was re-sealed stays re-sealed; run it again)", err)
		}
		failed = failed[:0]
		for _, f := range r.Failed {
			failed = append(failed, f.Err.Error())
		}
		done, isCurrent, failure, err := resealSigningKey(ctx, tree, keyring)
		if err != nil {
			report(stdout, resealed, current)
			return fmt.Errorf("rotate-key: %w (what was re-sealed stays re-sealed; run it again)", err)
		}
		if done {
			add(resealed, signingKeyTable, "sealed")
		}
		if pass == 0 && isCurrent {
			current[signingKeyTable]++
		}
		if failure != nil {
			failed = append(failed, failure.Error())
		}
		stale, err := staleValues(ctx, tree, registry, keyring)
		if err != nil {
			return err
		}
		if len(stale) == len(failed) {
			break // nothing more this run can re-seal
		}
	}
	report(stdout, resealed, current)
	stale, err := staleValues(ctx, tree, registry, keyring)
	if err != nil {
		return err
	}
	if len(stale) == 0 {
		_, err := fmt.Fprintln(stdout, "none is left under an older key: the older keys may be dropped")
		return err
	}
	for _, f := range failed {
		fmt.Fprintf(stdout, "not re-sealed: %s\n", f)
	}
	printStale(stdout, stale, keyring)
	return fmt.Errorf("%w: %d left (see above); run rotate-key again once every server seals with the new key, or give the missing key in master_key_previous_env", errStale, len(stale))
}

// add counts one re-sealed value of a table's column.
func add(counts map[string]map[string]int, table, column string) {
	if counts[table] == nil {
		counts[table] = map[string]int{}
	}
	counts[table][column]++
}

// report prints what was re-sealed, per table and column.
func report(stdout io.Writer, resealed map[string]map[string]int, current map[string]int) {
	for _, table := range []string{"sinks", signingKeyTable} {
		total, parts := 0, []string{}
		for _, column := range slices.Sorted(maps.Keys(resealed[table])) {
			total += resealed[table][column]
			parts = append(parts, fmt.Sprintf("%s %d", column, resealed[table][column]))
		}
		detail := ""
		if len(parts) > 0 && table == "sinks" {
			detail = " (" + strings.Join(parts, ", ") + ")"
		}
		fmt.Fprintf(stdout, "%s: re-sealed %d %s%s; %d already under the current key\n", table, total, plural(total, "value"), detail, current[table])
	}
}

// checkSealed is rotate-key --check: it counts the values not under the current key.
func checkSealed(ctx context.Context, tree *audit.Tree, registry *sinks.Registry, k *sealed.Keyring, stdout io.Writer) error {
	stale, err := staleValues(ctx, tree, registry, k)
	if err != nil {
		return err
	}
	if len(stale) == 0 {
		_, err := fmt.Fprintln(stdout, "none is left under an older key: the older keys may be dropped")
		return err
	}
	printStale(stdout, stale, k)
	return fmt.Errorf("%w: %d %s left; run leadledger rotate-key", errStale, len(stale), plural(len(stale), "value"))
}

// staleValue is a value not sealed under the current key: where it is and what it is under
// ("" for plain text).
type staleValue struct{ table, keyID string }

func staleValues(ctx context.Context, tree *audit.Tree, registry *sinks.Registry, k *sealed.Keyring) ([]staleValue, error) {
	creds, err := registry.StaleCredentials(ctx, k)
	if err != nil {
		return nil, err
	}
	var out []staleValue
	for _, c := range creds {
		out = append(out, staleValue{"sinks", c.KeyID})
	}
	text, err := audit.SealedSigningKey(ctx, tree)
	if err != nil {
		return nil, err
	}
	if text != "" && k.NeedsReseal(text) {
		out = append(out, staleValue{signingKeyTable, sealed.SealedWith(text)})
	}
	return out, nil
}

// printStale prints, per table, how many values are under which other key.
func printStale(stdout io.Writer, stale []staleValue, k *sealed.Keyring) {
	for _, table := range []string{"sinks", signingKeyTable} {
		byKey := map[string]int{}
		n := 0
		for _, s := range stale {
			if s.table == table {
				byKey[s.keyID]++
				n++
			}
		}
		if n == 0 {
			fmt.Fprintf(stdout, "%s: 0 values under an older key\n", table)
			continue
		}
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(byKey)) {
			switch {
			case id == "":
				parts = append(parts, fmt.Sprintf("%d in plain text", byKey[id]))
			case k.Holds(id):
				parts = append(parts, fmt.Sprintf("%d under key %s", byKey[id], id))
			default:
				parts = append(parts, fmt.Sprintf("%d under key %s, which the configured keys do not include", byKey[id], id))
			}
		}
		fmt.Fprintf(stdout, "%s: %d %s not under the current key: %s\n", table, n, plural(n, "value"), strings.Join(parts, ", "))
	}
}

// signingKeyTable names, in rotate-key's output, the table of the checkpoint signing key the
// server made, sealed under the master key with signingKeyContext.
const signingKeyTable = "ledger_signing_key"

// resealSigningKey re-seals the stored signing key under the current key, if it is under
// another. The row is written once, by the first server, so a write that finds it changed is
// a failure to report, not a race to retry.
func resealSigningKey(ctx context.Context, tree *audit.Tree, k *sealed.Keyring) (resealed, current bool, failure, err error) {
	text, err := audit.SealedSigningKey(ctx, tree)
	if err != nil || text == "" {
		return false, false, nil, err
	}
	if !k.NeedsReseal(text) {
		return false, true, nil, nil
	}
	next, _, err := k.Reseal(text, signingKeyContext)
	if err != nil {
		return false, false, fmt.Errorf("the checkpoint signing key: %w", err), nil
	}
	replaced, err := audit.ReplaceSealedSigningKey(ctx, tree, text, next)
	if err != nil {
		return false, false, nil, err
	}
	if !replaced {
		return false, false, errors.New("the checkpoint signing key changed while being re-sealed; run again"), nil
	}
	return true, false, nil, nil
}

// newMasterKeyFile is rotate-key --new-key-file: the key file's key is kept beside it as
// .previous and a new one written in its place. The database is not opened.
func newMasterKeyFile(cfg config.Config, stdout io.Writer) error {
	if cfg.MasterKey != nil {
		return errors.New("rotate-key --new-key-file: the master key comes from master_key_env, not a file: put the new key in that variable and the old one in a variable named by master_key_previous_env (see docs/operations.md)")
	}
	path := keyFilePath(cfg)
	previous, current, err := sealed.RotateKeyFile(path)
	if err != nil {
		return fmt.Errorf("rotate-key --new-key-file: %w", err)
	}
	k, err := sealed.NewKeyring(current, previous)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, `new master key %s in %s; the previous key %s kept in %s
next: restart every server on this database (each opens with both keys, and seals with the new one),
then run leadledger rotate-key, then leadledger rotate-key --check, then delete %s
back up both files until then
`, k.KeyIDs()[0], path, k.KeyIDs()[1], sealed.PreviousKeyFile(path), sealed.PreviousKeyFile(path))
	return err
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
