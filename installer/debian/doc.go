// Package debian holds the .deb's sources (control file, maintainer
// scripts, the policy template) and its test: `make deb` builds it with
// build-deb.sh; the test checks its contents and installs it.
package debian
