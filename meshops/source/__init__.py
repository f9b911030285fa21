"""First stage: read a config repository — a git revision or the working tree — and its settings.

`repo` opens a revision (`open_source(repo, ref)`) and reads files from it; `envconfig` reads
`environments/<env>/meshops.yaml`; `values` layers base <- environment <- `--set`; `promotion`
orders environments. Render takes what this room hands it; nothing here renders or connects.
"""
