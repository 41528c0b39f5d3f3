package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Peer is who is at the other end of a connection, as the kernel says
// (SO_PEERCRED, SO_PEERGROUPS): not what the client claims.
type Peer struct {
	PID, UID, GID int
	Groups        []int // supplementary groups; nil when the kernel would not say
}

type peerKey struct{}

// peerOf is the peer of the connection a request came on.
func peerOf(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// connPeer reads the credentials of a Unix socket's peer.
func connPeer(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("connection is %T, not a Unix socket", c)
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var p Peer
	var cerr error
	err = rc.Control(func(fd uintptr) {
		cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil {
			cerr = fmt.Errorf("SO_PEERCRED: %w", err)
			return
		}
		p = Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}
		p.Groups = peerGroups(int(fd))
	})
	return p, errors.Join(err, cerr)
}

// peerGroups are the peer's supplementary groups as they were at
// connect(2) (SO_PEERGROUPS), or nil when the kernel will not say. A peer
// with more groups than the buffer holds is judged by its primary group
// alone. x/sys has no getsockopt for an array of gids (GetsockoptString
// drops the last byte as a NUL), hence the raw call.
func peerGroups(fd int) []int {
	var buf [256]uint32
	size := uint32(len(buf) * 4)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return nil
	}
	groups := make([]int, 0, size/4)
	for _, g := range buf[:size/4] {
		groups = append(groups, int(g))
	}
	return groups
}

// policy decides who may change things.
type policy struct {
	owner int // the daemon's effective uid
	gid   int // the socket's group; -1 for none
}

// mayChange reports whether p may change ports: root, the daemon's own
// user, or a member of the socket's group.
func (pl policy) mayChange(p Peer) bool {
	switch {
	case p.UID == 0, p.UID == pl.owner:
		return true
	case pl.gid < 0:
		return false
	}
	return p.GID == pl.gid || slices.Contains(p.Groups, pl.gid)
}

// who describes what may change ports, for the error a refused peer gets.
func (pl policy) who() string {
	if pl.gid < 0 {
		return fmt.Sprintf("root or uid %d", pl.owner)
	}
	return fmt.Sprintf("root, uid %d or group %d", pl.owner, pl.gid)
}

func newPolicy(gid int) policy { return policy{owner: os.Geteuid(), gid: gid} }
