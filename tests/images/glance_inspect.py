#!/usr/bin/python3
"""Second opinion for imgtool's format detection: Glance's own format inspector.

Usage: glance_inspect.py FILE...
Prints one JSON object per FILE, one per line: {"file": FILE, "format": NAME,
"virtual_size": N, "safe": BOOL, "reason": TEXT}. Uses whichever inspector is installed: oslo.utils'
imageutils.format_inspector (Glance since 2024-08) when present, else the
in-tree glance.common.format_inspector (Debian 12's python3-glance, which
knows raw/qcow2/vhd/vhdx/vmdk/vdi/qed; iso, gpt and luks read as raw there).
Exit 0 when inspection ran (whatever the verdict), 2 when the inspector
raised for some file (e.g. "Multiple formats detected"), printed as
{"file": FILE, "error": TEXT}. Importing Glance takes seconds: batch files.
"""
import json
import logging
import sys

logging.disable(logging.CRITICAL)

try:  # newer: oslo.utils
    from oslo_utils.imageutils import format_inspector as fi
    SOURCE = "oslo_utils.imageutils.format_inspector"
except ImportError:  # Debian 12: glance in-tree copy
    from glance.common import format_inspector as fi
    SOURCE = "glance.common.format_inspector"


def format_name(insp):
    # The old QEDInspector has no __str__ (it prints "raw"): name it by class.
    for name, cls in fi.ALL_FORMATS.items():
        if type(insp) is cls:
            return name
    return str(insp)


def main(path):
    try:
        insp = fi.detect_file_format(path)
    except Exception as e:  # ImageFormatError and friends
        print(json.dumps({"file": path, "error": str(e), "inspector": SOURCE}))
        return 2
    safe, reason = True, ""
    try:
        result = insp.safety_check()
        if result is False:  # old API returns a bool
            safe, reason = False, "safety_check() returned False"
    except Exception as e:  # new API raises SafetyCheckFailed
        safe, reason = False, str(e)
    print(json.dumps({"file": path, "format": format_name(insp), "virtual_size": insp.virtual_size,
                      "safe": safe, "reason": reason, "inspector": SOURCE}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    sys.exit(max(main(p) for p in sys.argv[1:]))
