// Package scripts holds the shell scripts the Makefile runs, and the tests
// that run them as `make` does. It has no Go code of its own, and nothing
// imports it.
package scripts
