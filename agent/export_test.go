package agent

// BreakAudit closes the audit trail under the running agent, as a full or
// failed disk would make every later record fail.
func (d *Daemon) BreakAudit() { d.Agent.audit.Close() }
