{{/*
Sharding (docs/operations.md). With shards: N > 1 the chart renders N Deployments: the
default one (deployment.yaml) reconciles connections without the d365.operators.dev/shard
label, and deployment-shards.yaml renders shard 1..N-1 from the same template, each
reconciling the connections labelled with its number and holding its own leader-election
Lease. `d365-operator shard assign --shards N` labels connections to match.
*/}}

{{/* The shard label on a shard Deployment's selector and pods; nothing on the default one. */}}
{{- define "d365-operator.shardLabel" -}}
{{- with .Shard }}d365.operators.dev/shard: {{ . | quote }}{{ end }}
{{- end }}

{{/* The flags that make a Deployment one shard: its connections and its own Lease. */}}
{{- define "d365-operator.shardArgs" -}}
{{- if gt (int .Values.shards) 1 }}
{{- if .Shard }}
- --watch-label-selector=d365.operators.dev/shard={{ .Shard }}
- --leader-election-id={{ include "d365-operator.fullname" . }}-shard-{{ .Shard }}.operators.dev
{{- else }}
- "--watch-label-selector=!d365.operators.dev/shard"
{{- end }}
{{- end }}
{{- end }}
