package control

import (
	"context"
	"net/http"
	"strconv"

	"github.com/vcomd/vcomd/config"
	"github.com/vcomd/vcomd/daemon"
	"github.com/vcomd/vcomd/wire"
)

// describeNetwork adds to d what a port's network front or connect wire
// says of itself.
func describeNetwork(d *Port, p *daemon.Port, cfg *config.Config) {
	if srv := p.Server(); srv != nil {
		st := srv.State()
		d.Serve = &ServeState{
			Address:     srv.String(),
			Client:      st.Client,
			Since:       st.Since,
			Accepted:    st.Accepted,
			Refused:     st.Refused,
			Dropped:     st.Dropped,
			LastRefusal: st.LastRefusal,
		}
		d.Open = st.Client != ""
		if s, ok := cfg.ServeOf(p.Name); ok {
			for _, a := range s.Allow {
				d.Serve.Allow = append(d.Serve.Allow, a.String())
			}
			d.Serve.Handover = s.Handover
		}
	}
	switch w := p.Connection().(type) {
	case *wire.Remote:
		st := w.State()
		d.Remote = &RemoteState{
			Address:   w.String(),
			Connected: st.Connected,
			Since:     st.Since,
			Connects:  st.Connects,
			LostTx:    st.LostTx,
			LastError: st.LastError,
			Peer:      st.Peer,
		}
	case *wire.Exec:
		st := w.State()
		d.Exec = &ExecState{
			Command:  st.Command,
			PID:      st.PID,
			Running:  st.Running,
			Since:    st.Since,
			Restarts: st.Restarts,
			LastExit: st.LastExit,
			LostTx:   st.LostTx,
		}
	case *wire.Replay:
		d.Replay = describeReplay(w.State())
	case *wire.Adapter:
		st := w.State()
		d.Device = &DeviceState{
			Path:       st.Path,
			Open:       st.Open,
			Since:      st.Since,
			Opens:      st.Opens,
			LostTx:     st.LostTx,
			ModemLines: st.ModemLines,
			LastError:  st.LastError,
		}
	}
}

// describeReplay is a replay wire's state as the API shows it.
func describeReplay(st wire.ReplayState) *ReplayState {
	r := &ReplayState{File: st.File, State: st.State, Line: st.Line, Lines: st.Lines,
		Played: st.Played, Extra: st.Extra, Mismatches: st.Mismatches}
	if m := st.Mismatch; m != nil {
		r.Mismatch = &ReplayMismatch{Line: m.Line, Offset: m.Offset, Expected: strconv.Quote(string(m.Expected)),
			Received: strconv.Quote(string(m.Received)), At: m.At, Resynced: m.Resynced, Message: m.Error()}
	}
	return r
}

// serve puts a port on the network: its pty goes and a server takes its
// place (the port is made again, its wire kept).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	var req ServeRequest
	p, err := s.portBody(w, r, &req)
	if err != nil {
		return nil, err
	}
	allow, err := config.ParseAllow(req.Allow)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	sv := config.Serve{Port: p.Name, Address: req.Address, Allow: allow, Handover: req.Handover}
	err = s.d.Edit(func(c *config.Config) (*config.Config, error) {
		if have, ok := c.ServeOf(p.Name); ok {
			return nil, fail(http.StatusConflict, "port %q is served already at %s", p.Name, have.Address)
		}
		n, err := c.WithServe(sv)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "%v", err)
		}
		return n, nil
	})
	if err != nil {
		return nil, s.addFailed(err, []string{p.Name})
	}
	return s.described(r.Context(), p.Name)
}

// unserve ends a port's network server; the port gets a pty again.
func (s *Server) unserve(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := s.port(r)
	if err != nil {
		return nil, err
	}
	err = s.d.Edit(func(c *config.Config) (*config.Config, error) {
		n, err := c.WithoutServe(p.Name)
		if err != nil {
			return nil, fail(http.StatusNotFound, "%v", err)
		}
		return n, nil
	})
	if err != nil {
		return nil, s.addFailed(err, []string{p.Name})
	}
	return s.described(r.Context(), p.Name)
}

// described is the Port of the port called name as it is now.
func (s *Server) described(ctx context.Context, name string) (any, error) {
	p, ok := s.d.Port(name)
	if !ok {
		return nil, fail(http.StatusNotFound, "port %q: removed meanwhile", name)
	}
	return s.describe(ctx, p)
}
