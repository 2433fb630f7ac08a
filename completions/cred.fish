complete --keep-order --exclusive --command cred --arguments "(COMPLETE=fish cred -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
