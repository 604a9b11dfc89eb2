#!/usr/bin/env bash
# The pages' translations (Babel/gettext): extract the messages, update each language's .po, compile the .mo
# files that are committed (a fresh clone and the deploy zip need no build step; a test checks they are current).
#   scripts/i18n.sh            extract + update + compile
#   scripts/i18n.sh compile    compile only
set -euo pipefail
cd "$(dirname "$0")/.."
LOCALES=shared/crmsync/web/locale
PYBABEL=.venv/bin/pybabel
if [ "${1:-}" != compile ]; then
  "$PYBABEL" extract -F babel.cfg -k N_ -k ngettext_noop:1,2 --no-location --sort-output \
    --project crmsync --copyright-holder crmsync -o "$LOCALES/messages.pot" . >/dev/null
  for lang in de; do
    if [ -f "$LOCALES/$lang/LC_MESSAGES/messages.po" ]; then
      "$PYBABEL" update -i "$LOCALES/messages.pot" -d "$LOCALES" -l "$lang" --no-fuzzy-matching >/dev/null
    else
      "$PYBABEL" init -i "$LOCALES/messages.pot" -d "$LOCALES" -l "$lang" >/dev/null
    fi
  done
fi
"$PYBABEL" compile -d "$LOCALES" --statistics
