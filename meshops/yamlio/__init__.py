"""YAML in and out, the way every stage needs it: libyaml speed, line maps, sorted output, whole files.

`documents` parses YAML into data plus a line map (and refuses duplicate keys and alias bombs);
`emitter` writes sorted YAML fast; `gcpause` keeps the garbage collector out of bulk parsing;
`atomic_write` replaces a file so a failure never leaves half of it behind.
"""
