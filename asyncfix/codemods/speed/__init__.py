"""The libcst speed layer: what makes one parse and one visit per file cheap, apart from
the codemods' contract (`asyncfix.codemods.base`).

- `traversal`: libcst's visits without rebuilding unchanged nodes (reads libcst's private
  visitor code: libcst is pinned, and tests/test_traversal.py fails on another release);
  `orders` (generated) holds what it reads of that code for the pinned release;
- `metadata`: parents, expression contexts and qualified names from walks over the
  nodes' fields, and the metadata wrapper that serves them;
- `positions`: `FileRun`'s per-file caches (stdlib ast, bytes, metadata, line maps,
  positions in the original tree);
- `screens` and `notes` (no libcst): the walk of the stdlib ast the prescreens share, and
  what the prescreens say of a file in the worker that indexes it, so that the worker
  rewriting it parses it again only when one may pass;
- `imports`: libcst's matchers imported without the docstrings nothing reads.
"""
