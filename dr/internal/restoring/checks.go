package restoring

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// Check runs the SQL checks against the available instance (step 3) and records them in
// the report.
func (v *Verifier) Check(ctx context.Context, st *dr.VerifyState, host string, port int32) {
	db, err := v.Open(ctx, host, port)
	if err != nil {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "connect", Detail: errtext.Strip("dr", err.Error())})
		return
	}
	defer db.Close()
	st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: "connect", OK: true, Detail: fmt.Sprintf("%s:%d", host, port)})
	add := func(name string, ok bool, format string, args ...any) {
		st.Report.Steps = append(st.Report.Steps, dr.StepResult{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		v.Progress("check %s: ok=%v %s", name, ok, fmt.Sprintf(format, args...))
	}
	c := v.Opts.Checks
	var version string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		add("server version", false, "%v", err)
	} else {
		add("server version", c.ServerVersionPrefix == "" || strings.HasPrefix(version, c.ServerVersionPrefix), "%s (want prefix %q)", version, c.ServerVersionPrefix)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'").Scan(&tables); err != nil {
		add("table count", false, "%v", err)
	} else {
		add("table count", tables >= c.MinTables, "%d tables (want at least %d)", tables, c.MinTables)
	}
	names := make([]string, 0, len(c.MinRows))
	for t := range c.MinRows {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		var n int64
		// Table names come from the caller's configuration; quote them as identifiers.
		q := `SELECT count(*) FROM "` + strings.ReplaceAll(t, `"`, `""`) + `"`
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			add("rows "+t, false, "%v", err)
			continue
		}
		add("rows "+t, n >= c.MinRows[t], "%d rows (want at least %d)", n, c.MinRows[t])
	}
	for _, qc := range c.Queries {
		var got sql.NullString
		if err := db.QueryRowContext(ctx, qc.SQL).Scan(&got); err != nil {
			add(qc.Name, false, "%v", err)
			continue
		}
		add(qc.Name, got.String == qc.Want, "got %q, want %q", got.String, qc.Want)
	}
}

// Open connects to the restored database, with the credentials when dr.Database has them, and
// checks the connection. Its error never holds the DSN or a password: drivers quote the DSN
// in their errors, redacting the password only as far as they can parse it.
func (v *Verifier) Open(ctx context.Context, host string, port int32) (*sql.DB, error) {
	dsn := v.DB.DSN(host, port)
	secrets := []string{dsn}
	if v.DB.Credentials != nil {
		user, password, err := v.DB.Credentials(ctx)
		if err != nil {
			return nil, errtext.Wrap("dr", "database credentials", err)
		}
		u := url.UserPassword(user, password).String() // "user:password", each escaped
		name, pass, _ := strings.Cut(u, ":")
		secrets = append(secrets, password, pass)
		dsn = strings.ReplaceAll(strings.ReplaceAll(dsn, "{user}", name), "{password}", pass)
		secrets = append(secrets, dsn)
	}
	secrets = append(secrets, dsnPasswords(dsn, host)...)
	db, err := sql.Open(v.DB.Driver, dsn)
	if err == nil {
		if err = db.PingContext(ctx); err != nil {
			db.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dr: connecting to %s:%d: %s", host, port, redact(err.Error(), secrets))
	}
	return db, nil
}

// kvPassword finds the password of a key=value connection string.
var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)`)

// dsnPasswords are the password of a URL connection string to host (as written, decoded,
// and the parts around each '@' in it that a parser ending the user information at the first
// '@' shows as a host name) and the passwords of a key=value one.
func dsnPasswords(dsn, host string) []string {
	var out []string
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"+host); i >= 0 && j > i+3 {
		if _, p, ok := strings.Cut(dsn[i+3:j], ":"); ok {
			out = append(out, p)
			if d, err := url.PathUnescape(p); err == nil {
				out = append(out, d)
			}
			for k := 0; k < len(p); k++ {
				if p[k] == '@' {
					for _, piece := range []string{p[:k], p[k+1:]} {
						if len(piece) >= 4 { // shorter ones would garble the message, not hide much
							out = append(out, piece)
						}
					}
				}
			}
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[1], strings.Trim(m[1], "'"))
	}
	return out
}

// redact replaces every secret (longest first) in msg.
func redact(msg string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, s := range sorted {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func AllOK(steps []dr.StepResult) bool {
	for _, s := range steps {
		if !s.OK {
			return false
		}
	}
	return len(steps) > 0
}
