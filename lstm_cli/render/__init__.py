"""Rich renderables for what the commands show: build and return, never print.

User text (names, descriptions, tokens) always goes in as `rich.text.Text`, so that it is never read as
Rich markup. Views are bounded and say what they left out.
"""
