package main

import (
	"fmt"
	"time"
)

// scenarioDigests is (a): 2,000 signatures through sign.digest against
// crypto11 with its best worker count, for RSA-2048 and P-256.
func (b *bench) scenarioDigests(r *report, runs int) error {
	const n = 2000
	c, err := dial(b.url, benchOrigin)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, k := range []struct {
		name string
		id   []byte
		cert int
	}{{"RSA-2048", rsaID, 0}, {"P-256", p256ID, 1}} {
		cert := b.certs[k.cert]
		digests := randomDigests(n)
		// Direct and agent runs alternate, so that both see the same
		// machine: a slower minute must not favour either side.
		direct := map[int][]time.Duration{}
		var as []time.Duration
		for range runs {
			for _, w := range []int{1, 2, 4} {
				d, err := b.direct(k.id, cert, digests, w)
				if err != nil {
					return fmt.Errorf("crypto11 %s, %d workers: %w", k.name, w, err)
				}
				direct[w] = append(direct[w], d)
			}
			d, err := b.viaAgent(c, k.id, cert, digests)
			if err != nil {
				return fmt.Errorf("agent %s: %w", k.name, err)
			}
			as = append(as, d)
		}
		best, bestW := time.Duration(0), 0
		perWorkers := map[int]time.Duration{}
		for _, w := range []int{1, 2, 4} {
			m := median(direct[w])
			perWorkers[w] = m
			if best == 0 || m < best {
				best, bestW = m, w
			}
		}
		agent := median(as)
		if k.name == "RSA-2048" {
			r.rsaPerSignature = best / n
		}
		ratio := best.Seconds() / agent.Seconds()
		r.add(section{
			title: fmt.Sprintf("(a) %d %s signatures", n, k.name),
			rows: [][2]string{
				{"crypto11 direct, 1 / 2 / 4 workers (median)", fmt.Sprintf("%v / %v / %v", perWorkers[1].Round(time.Millisecond), perWorkers[2].Round(time.Millisecond), perWorkers[4].Round(time.Millisecond))},
				{fmt.Sprintf("crypto11 best (%d workers)", bestW), fmt.Sprintf("%v = %.0f signatures/s", best.Round(time.Millisecond), n/best.Seconds())},
				{"agent: one sign.digest request over the WebSocket (median)", fmt.Sprintf("%v = %.0f signatures/s", agent.Round(time.Millisecond), n/agent.Seconds())},
				{"agent ÷ direct throughput", fmt.Sprintf("%.2f (target ≥ 0.90)", ratio)},
			},
			pass: ratio >= 0.90,
		})
	}
	return nil
}

// scenarioLatency is (d): one-item sign.digest on an open connection, for
// both keys (the token's own signing time differs tenfold between them).
func (b *bench) scenarioLatency(r *report) error {
	c, err := dial(b.url, benchOrigin)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, k := range []struct {
		name string
		id   []byte
		cert int
	}{{"RSA-2048", rsaID, 0}, {"P-256", p256ID, 1}} {
		lat, err := b.latency(c, k.id, b.certs[k.cert], 500)
		if err != nil {
			return err
		}
		p50, p99 := percentile(lat, 0.50), percentile(lat, 0.99)
		r.add(section{
			title: fmt.Sprintf("(d) latency of a one-item sign.digest (%s), 500 requests on one connection", k.name),
			rows: [][2]string{
				{"p50", fmt.Sprintf("%.2f ms (target ≤ 5 ms)", ms(p50))},
				{"p99", fmt.Sprintf("%.2f ms (target ≤ 15 ms)", ms(p99))},
				{"min / max", fmt.Sprintf("%.2f / %.2f ms", ms(lat[0]), ms(lat[len(lat)-1]))},
			},
			pass: p50 <= 5*time.Millisecond && p99 <= 15*time.Millisecond,
			note: "Each request spawns the pinentry program, logs in, signs and logs out.",
		})
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
