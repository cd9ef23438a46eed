package entra

// size reports how many identities and tokens are held (for tests).
func (p *Provider) size() (identities, tokens int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids), p.tokens.Len()
}
