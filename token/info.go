package token

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"
)

// PINStatus is the user PIN state a token reports in its flags.
type PINStatus string

// The PIN states of the protocol.
const (
	PINOK       PINStatus = "ok"
	PINCountLow PINStatus = "count_low"
	PINFinalTry PINStatus = "final_try"
	PINLocked   PINStatus = "locked"
)

func pinStatus(flags uint) PINStatus {
	switch {
	case flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		return PINLocked
	case flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		return PINFinalTry
	case flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
		return PINCountLow
	}
	return PINOK
}

// Info describes a token present in a slot.
type Info struct {
	Serial            string
	Label             string
	Manufacturer      string
	Model             string
	PINStatus         PINStatus
	ProtectedAuthPath bool
	// Module is the path of the module that reports the token.
	Module string

	mod         *module
	slot        uint
	initialized bool
}

func tokenInfo(m *module, slot uint) (Info, error) {
	ti, err := m.ctx.GetTokenInfo(slot)
	if err != nil {
		return Info{}, classify(err)
	}
	return Info{
		Serial:            clean(ti.SerialNumber),
		Label:             clean(ti.Label),
		Manufacturer:      clean(ti.ManufacturerID),
		Model:             clean(ti.Model),
		PINStatus:         pinStatus(ti.Flags),
		ProtectedAuthPath: ti.Flags&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0,
		Module:            m.path,
		mod:               m,
		slot:              slot,
		initialized:       ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0,
	}, nil
}

// clean trims the blank and NUL padding of PKCS#11's fixed-size strings.
func clean(s string) string {
	return strings.TrimRight(s, " \x00")
}

// Tokens lists the tokens present in every slot of every module. A slot
// that fails while it is read (a token being pulled) is left out and
// logged. A token seen through two modules (the p11-kit proxy and the
// vendor module, say) is listed once, through the first module configured.
func (p *Provider) Tokens() ([]Info, error) {
	var out []Info
	seen := map[string]bool{}
	for _, m := range p.modules {
		m.use.RLock()
		slots, err := m.ctx.GetSlotList(true)
		if err != nil && (errors.Is(classify(err), ErrRemoved) || generalError(err)) {
			// The module itself lost its device: p11-kit's client after its
			// server went away answers every call so until it is
			// initialised again, and a USB reader pulled with the card
			// can do the same. SoftHSM that failed to open its files (the
			// process out of descriptors) answers CKR_GENERAL_ERROR until
			// it is initialised again. Start it afresh once; whatever used
			// the old state failed already.
			if rerr := m.reinit(); rerr == nil {
				slots, err = m.ctx.GetSlotList(true)
			}
		}
		if err != nil {
			m.use.RUnlock()
			// One module down must not hide the others' tokens.
			p.log.Warn("failed to list the slots of a module", "module", m.path, "err", classify(err))
			continue
		}
		for _, s := range slots {
			ti, err := tokenInfo(m, s)
			if err != nil {
				p.log.Warn("failed to read token info", "module", m.path, "slot", s, "err", err)
				continue
			}
			if !ti.initialized || seen[ti.Serial] {
				continue
			}
			seen[ti.Serial] = true
			out = append(out, ti)
		}
		m.use.RUnlock()
	}
	return out, nil
}

// Token returns the token with the serial number, read afresh (its PIN
// flags are current), or ErrNotFound. The slot where it was last seen is
// tried first; slot ids change when a token is re-inserted, so a miss
// falls back to listing every slot.
func (p *Provider) Token(serial string) (Info, error) {
	p.smu.Lock()
	at, ok := p.slots[serial]
	p.smu.Unlock()
	if ok {
		at.mod.use.RLock()
		t, err := tokenInfo(at.mod, at.slot)
		at.mod.use.RUnlock()
		if err == nil && t.initialized && t.Serial == serial {
			return t, nil
		}
	}
	toks, err := p.Tokens()
	if err != nil {
		return Info{}, err
	}
	for _, t := range toks {
		if t.Serial == serial {
			p.smu.Lock()
			p.slots[serial] = slotRef{mod: t.mod, slot: t.slot}
			p.smu.Unlock()
			return t, nil
		}
	}
	return Info{}, fmt.Errorf("token %q: %w", serial, ErrNotFound)
}

// slotRef is where a token was last seen.
type slotRef struct {
	mod  *module
	slot uint
}

// generalError reports CKR_GENERAL_ERROR, which a module that lost its
// internal state keeps answering until it is initialised again.
func generalError(err error) bool {
	var rv pkcs11.Error
	return errors.As(err, &rv) && rv == pkcs11.CKR_GENERAL_ERROR
}
