"""The two sentinels around a ``{% generation %}`` block's output (Unicode noncharacters, which
never occur in real text): written by the jinja2 tag, stripped by the template after rendering."""

OPEN = "\ufdd0"
CLOSE = "\ufdd1"
