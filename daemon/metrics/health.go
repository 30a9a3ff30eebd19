package metrics

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"time"
)

// A Checker reports whether a component of the daemon works: nil, or why
// not. /healthz runs every registered Checker on each request, so a check
// must be cheap and must not block.
type Checker interface {
	CheckHealth() error
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func() error

// CheckHealth calls f.
func (f CheckerFunc) CheckHealth() error { return f() }

// RegisterHealth adds c to the checks of /healthz under name (such as
// "watcher", "journal", "out folder"), replacing a check of that name. The
// returned function removes it again, if it is still the one registered.
func (m *Metrics) RegisterHealth(name string, c Checker) (remove func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := new(int) // identifies this registration
	m.checks[name] = registered{c, id}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r, ok := m.checks[name]; ok && r.id == id {
			delete(m.checks, name)
		}
	}
}

type registered struct {
	c  Checker
	id *int
}

// Health runs the registered checks and returns the failures by name
// (none: healthy).
func (m *Metrics) Health() map[string]error {
	m.mu.Lock()
	checks := make(map[string]Checker, len(m.checks))
	for n, r := range m.checks {
		checks[n] = r.c
	}
	m.mu.Unlock()
	bad := map[string]error{}
	for n, c := range checks {
		if err := c.CheckHealth(); err != nil {
			bad[n] = err
		}
	}
	return bad
}

// serveHealth answers 200 "ok" when every check passes, else 503 with one
// line per failing check.
func (m *Metrics) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	bad := m.Health()
	if len(bad) == 0 {
		io.WriteString(w, "ok\n")
		return
	}
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	w.WriteHeader(http.StatusServiceUnavailable)
	for _, n := range names {
		fmt.Fprintf(w, "%s: %v\n", n, bad[n])
	}
}

// Timeouts of the server NewServer returns.
const (
	ReadHeaderTimeout = 5 * time.Second
	WriteTimeout      = 30 * time.Second
	// IdleTimeout closes keep-alive connections a scraper left idle.
	IdleTimeout = 60 * time.Second
)

// NewServer returns an HTTP server for h (Handler) with every timeout set:
// a slow or idle client cannot hold a connection open.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadHeaderTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout}
}

// Loopback reports whether the host of addr (HOST:PORT) is a loopback
// address or "localhost": anything else serves the metrics, and the file
// names in /healthz, to other machines.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
