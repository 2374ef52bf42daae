"""XBlock classes for every block type: real installed classes first, stand-ins, then placeholders."""
