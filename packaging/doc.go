// Package packaging holds the Debian package's pieces (nfpm.yaml, the
// systemd unit, the maintainer scripts, the shipped config and the man
// page) and the tests that build the .deb with `make package`, look inside
// it and, as root, install it into the real system with dpkg and remove it
// again.
package packaging
