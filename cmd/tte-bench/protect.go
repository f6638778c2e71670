package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
)

// scenarioProtect is (p): a large document encrypted to the token's
// certificate (document.encrypt) and opened again (document.decrypt),
// each uploaded in frames and its result fetched from its download URL,
// against openssl cms doing the same with the key in a file; with the
// agent's peak RSS, which must not grow with the document.
func (b *bench) scenarioProtect(r *report, runs int, size int64) error {
	path := filepath.Join(b.dir, "rahasia.bin")
	if err := writeRandom(path, size); err != nil {
		return err
	}
	defer os.Remove(path)
	want, err := fileSHA256(path)
	if err != nil {
		return err
	}
	certPEM := filepath.Join(b.dir, "rsa-cert.pem")
	keyPEM := filepath.Join(b.dir, "rsa-key.pem")
	// openssl's baseline: the same work with a software key of the same
	// size (the token's key cannot leave it).
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPEM, "-out", certPEM, "-subj", "/CN=bench", "-days", "1").CombinedOutput(); err != nil {
		return fmt.Errorf("openssl req: %v\n%s", err, out)
	}
	sealed := filepath.Join(b.dir, "rahasia.p7m")
	var osslEnc, osslDec []time.Duration
	for range runs {
		start := time.Now()
		if out, err := exec.Command("openssl", "cms", "-encrypt", "-binary", "-stream", "-aes-256-gcm", "-outform", "DER", "-in", path, "-out", sealed, certPEM).CombinedOutput(); err != nil {
			return fmt.Errorf("openssl cms -encrypt: %v\n%s", err, out)
		}
		osslEnc = append(osslEnc, time.Since(start))
		start = time.Now()
		if out, err := exec.Command("openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", sealed, "-recip", certPEM, "-inkey", keyPEM, "-out", os.DevNull).CombinedOutput(); err != nil {
			return fmt.Errorf("openssl cms -decrypt: %v\n%s", err, out)
		}
		osslDec = append(osslDec, time.Since(start))
	}
	c, err := dial(b.url, benchOrigin)
	if err != nil {
		return err
	}
	defer c.Close()
	var encs, decs []time.Duration
	var peak int64
	same := true
	for range runs {
		b.resetPeakRSS()
		start := time.Now()
		id, err := c.uploadFile(path, frameChunk)
		if err != nil {
			return err
		}
		var enc protocol.DocumentEncryptResult
		if err := c.call("document.encrypt", map[string]any{"items": []any{map[string]any{"uploadId": id}}, "recipients": [][]byte{b.certs[0].Raw},
			"rsaPadding": "RSA-PKCS1-v1_5"}, &enc); err != nil {
			return err
		}
		if err := fetch(enc.Items[0].DownloadURL, sealed, nil); err != nil {
			return err
		}
		encs = append(encs, time.Since(start))
		c.call("document.discard", map[string]any{"downloadId": enc.Items[0].DownloadID}, nil)
		start = time.Now()
		if id, err = c.uploadFile(sealed, frameChunk); err != nil {
			return err
		}
		var dec protocol.DocumentDecryptResult
		if err := c.call("document.decrypt", map[string]any{"items": []any{map[string]any{"uploadId": id}}}, &dec); err != nil {
			return err
		}
		h := sha256.New()
		if err := fetch(dec.Items[0].DownloadURL, "", h); err != nil {
			return err
		}
		decs = append(decs, time.Since(start))
		c.call("document.discard", map[string]any{"downloadId": dec.Items[0].DownloadID}, nil)
		same = same && bytes.Equal(h.Sum(nil), want)
		peak = max(peak, b.peakRSS())
	}
	mb := float64(size) / 1e6
	enc, dec := median(encs), median(decs)
	r.add(section{
		title: fmt.Sprintf("(p) a %d MiB document encrypted and opened with the token", size>>20),
		rows: [][2]string{
			{"openssl cms -encrypt -stream (AES-256-GCM, RSA), file to file", fmt.Sprintf("%v = %.0f MB/s", median(osslEnc).Round(time.Millisecond), mb/median(osslEnc).Seconds())},
			{"agent: upload in frames + document.encrypt + GET the held envelope", fmt.Sprintf("%v = %.0f MB/s", enc.Round(time.Millisecond), mb/enc.Seconds())},
			{"openssl cms -decrypt (key in a file)", fmt.Sprintf("%v = %.0f MB/s", median(osslDec).Round(time.Millisecond), mb/median(osslDec).Seconds())},
			{"agent: upload the envelope + document.decrypt (token) + GET the opened document", fmt.Sprintf("%v = %.0f MB/s", dec.Round(time.Millisecond), mb/dec.Seconds())},
			{"the opened document is the document", fmt.Sprint(same)},
			{"agent peak RSS during the runs", fmt.Sprintf("%.1f MiB (target < 64 MiB)", float64(peak)/(1<<20))},
		},
		pass: same && peak > 0 && peak < 64<<20,
		note: "Medians of at most 3 runs (each moves 1 GiB). The agent's opening reads the envelope twice (the GCM tag is checked over all of it before any content is given, then the content is decrypted as it is fetched); openssl gives the content as it decrypts.",
	})
	return nil
}

// fetch GETs a held result from the bench origin into a file or a writer.
func fetch(url, path string, w io.Writer) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Origin", benchOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	n, err := io.Copy(w, resp.Body)
	if err == nil && n != resp.ContentLength {
		err = fmt.Errorf("GET %s: %d of %d bytes", url, n, resp.ContentLength)
	}
	return err
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
