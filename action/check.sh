#!/usr/bin/env bash
# The action's check step: the HTML report to $SLIM_REPORT, the markdown verdict appended to
# $GITHUB_STEP_SUMMARY, `passed` to $GITHUB_OUTPUT, and slim check's exit code (0 pass, 1 a
# check failed, 2 usage or input error).
set -uo pipefail
: "${SLIM_IMAGE:?the image input is required}"
flags=()
[[ -n "${SLIM_CONFIG:-}" ]] && flags+=(--config "$SLIM_CONFIG")
# Extra flags are split on whitespace, as a user types them in the workflow.
read -r -a extra <<< "${SLIM_ARGS:-}"
flags+=("${extra[@]}")

summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
# One analysis: the HTML report and the markdown summary come from the same run.
slim check "$SLIM_IMAGE" "${flags[@]}" --quiet --format html -o "${SLIM_REPORT:-slim-report.html}" --summary "$summary"
code=$?
if ((code == 2)); then
  echo "::error title=slim check::slim check could not read its input (exit 2); see the line above"
  exit 2
fi
[[ -n "${GITHUB_OUTPUT:-}" ]] && echo "passed=$([[ $code == 0 ]] && echo true || echo false)" >> "$GITHUB_OUTPUT"
exit "$code"
