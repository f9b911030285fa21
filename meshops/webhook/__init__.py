"""Push webhooks: a git push becomes a reconcile, without polling and without trusting the sender.

Where it sits: in front of `meshops.reconcile`. `signatures` checks that a delivery comes from
whoever knows the shared secret (GitHub's HMAC-SHA256, Gitea's, GitLab's token); `events` reads a
verified push (which repository, branch and commit); `server` answers at once and hands accepted
pushes to `worker`, which runs one reconcile at a time in the background; `metrics` is what
`/metrics` exports. `meshops serve` and `meshops controller` are built from these parts.
"""
