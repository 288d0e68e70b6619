"""Import formats: each turns one record of a file into checked interactions or votes.

``dashboard.formats.registry`` names them; ``dashboard.importing`` reads the files.
"""
