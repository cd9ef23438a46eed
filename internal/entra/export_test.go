package entra

// size reports how many identities and tokens are held (for tests).
func (p *Provider) size() (identities, tokens int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.ids {
		tokens += len(st.tokens)
	}
	return len(p.ids), tokens
}
