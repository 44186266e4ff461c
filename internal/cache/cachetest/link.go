package cachetest

import (
	"net"
	"sync"
	"testing"
)

// Link is a TCP relay to a server that a test can cut: while cut, it
// passes nothing either way and closes nothing, as a network that drops
// every packet would.
type Link struct {
	Addr string // where to connect instead of the server

	mu   sync.Mutex
	open chan struct{} // closed while the link carries bytes
	cut  bool
}

// StartLink relays connections from Addr to target until the test ends.
func StartLink(t testing.TB, target string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{Addr: ln.Addr().String(), open: make(chan struct{})}
	close(l.open)
	t.Cleanup(func() {
		ln.Close()
		l.Restore() // what it held goes through, and its relays end with their connections
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go l.relay(c, up)
			go l.relay(up, c)
		}
	}()
	return l
}

func (l *Link) relay(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			l.mu.Lock()
			open := l.open
			l.mu.Unlock()
			<-open // held while cut
			if _, err := to.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut stops the link passing anything, leaving every connection open.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cut {
		l.open, l.cut = make(chan struct{}), true
	}
}

// Restore lets the link pass what it held and whatever follows.
func (l *Link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		close(l.open)
		l.cut = false
	}
}
