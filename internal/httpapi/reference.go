package httpapi

import (
	"bytes"
	_ "embed"
	"html/template"
	"strings"
)

// The interactive API reference at /api/docs: one server-rendered page
// listing every route of routes() by tag, with its scope, parameters and
// a form that sends the request with a token typed into the page
// (assets/docs.js, no library). The machine-readable document is
// /api/openapi.json.

//go:embed assets/docs.js
var referenceScript []byte

// referenceCSP lets the page run only its own script and talk only to
// this server.
const referenceCSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

type refOp struct {
	Method, Path, Summary, Scope, Anchor string
	PathParams                           []string
	Query                                []refParam
	Body                                 bool
	Upload                               bool
}

type refParam struct{ Name, Desc string }

type refTag struct {
	Name string
	Ops  []refOp
}

var referenceTemplate = template.Must(template.New("ref").Funcs(template.FuncMap{
	"lower": strings.ToLower,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GreenLang API reference</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}
header,main{max-width:60rem;margin:0 auto;padding:0 1rem}
header{border-bottom:1px solid #ccc;padding-bottom:1rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ddd}
code,output,textarea,input{font-family:ui-monospace,monospace;font-size:.9rem}
details{border:1px solid #ccc;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}
summary:focus-visible,a:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.m{display:inline-block;min-width:4.5rem;font-weight:700}
.get{color:#065f46}.post{color:#1e3a8a}.patch,.put{color:#7c2d12}.delete{color:#991b1b}
label{display:block;margin:.3rem 0}
input,textarea{width:100%;box-sizing:border-box;padding:.3rem;border:1px solid #666;border-radius:3px}
button{margin:.4rem 0;padding:.3rem 1rem;border:1px solid #1e3a8a;background:#1e3a8a;color:#fff;border-radius:3px}
output{display:block;white-space:pre-wrap;background:#f4f4f4;padding:.5rem;max-height:30rem;overflow:auto}
nav a{margin-right:.8rem}
</style>
</head>
<body>
<header>
<h1>GreenLang API <small>{{.Version}}</small></h1>
<p>Every route under <code>/api/v1</code> needs an API token (<code>greenlang token create</code>). Errors are RFC 9457 problem documents.
The machine-readable description is <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
<label for="token">API token used by the forms below (kept in this browser tab only)</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
<nav aria-label="Sections">{{range .Tags}}<a href="#{{.Name}}">{{.Name}}</a> {{end}}</nav>
</header>
<main>
{{range .Tags}}<section id="{{.Name}}" aria-labelledby="h-{{.Name}}">
<h2 id="h-{{.Name}}">{{.Name}}</h2>
{{range .Ops}}<details id="{{.Anchor}}">
<summary><span class="m {{lower .Method}}">{{.Method}}</span> <code>{{.Path}}</code> — {{.Summary}}</summary>
<p>Scope: {{if .Scope}}<code>{{.Scope}}</code>{{else}}any valid token{{end}}</p>
<form class="try" data-method="{{.Method}}" data-path="{{.Path}}">
{{$a := .Anchor}}{{range .PathParams}}<label for="{{$a}}-p-{{.}}">{{.}} (path)</label><input id="{{$a}}-p-{{.}}" name="path.{{.}}" required>
{{end}}{{range .Query}}<label for="{{$a}}-q-{{.Name}}">{{.Name}} — {{.Desc}}</label><input id="{{$a}}-q-{{.Name}}" name="query.{{.Name}}">
{{end}}{{if .Body}}<label for="{{$a}}-body">JSON body</label><textarea id="{{$a}}-body" name="body" rows="5"></textarea>
{{end}}{{if .Upload}}<p>This route takes a file: send it with curl (docs/api.md).</p>{{else}}<button type="submit">Send {{.Method}}</button>
<output aria-live="polite"></output>{{end}}
</form>
</details>
{{end}}</section>
{{end}}</main>
<script src="/api/docs.js"></script>
</body>
</html>
`))

// referencePage renders the reference of routes.
func referencePage(routes []route, version string) []byte {
	var tags []refTag
	index := map[string]int{}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		op := refOp{Method: method, Path: path, Summary: rt.doc.summary, Scope: rt.scope,
			Anchor: operationID(method, path), Body: rt.doc.body != nil, Upload: rt.doc.upload != nil}
		for _, p := range rt.doc.query {
			op.Query = append(op.Query, refParam{p.name, p.desc})
		}
		for _, seg := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				op.PathParams = append(op.PathParams, strings.TrimSuffix(name, "}"))
			}
		}
		tag := tagOf(path)
		i, ok := index[tag]
		if !ok {
			i = len(tags)
			index[tag] = i
			tags = append(tags, refTag{Name: tag})
		}
		tags[i].Ops = append(tags[i].Ops, op)
	}
	var b bytes.Buffer
	if err := referenceTemplate.Execute(&b, map[string]any{"Version": version, "Tags": tags}); err != nil {
		// The template and its data are fixed: a failure is a bug the tests see.
		return []byte("<!doctype html><title>error</title><p>" + template.HTMLEscapeString(err.Error()))
	}
	return b.Bytes()
}
