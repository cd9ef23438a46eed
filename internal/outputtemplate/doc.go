// Package outputtemplate renders the extra keys of a connection's output Secret
// (spec.target.template.data) from a fixed data model: Go text/template with a small
// function set, limits on size and time, and errors that name the key and the line but
// never the token.
//
// Templates are restricted to actions that run in time linear in their size: the data
// model has no lists, so range, and the define/template/block actions that allow
// recursion, are refused when parsing.
package outputtemplate
