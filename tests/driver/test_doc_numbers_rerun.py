"""The short documented jobs (jobs/quick.json, closest.json, paper.json, readings.json) run again
give every number docs/results/numbers.json holds for them (analysis/doc_numbers.py check
--rerun): same job, same seed, same numbers for any rank count, so a difference is a change of
trajectory or of the analysis, and the docs must be regenerated (`analysis/doc_numbers.py
regenerate`, docs/reproduction.md "Keeping the numbers true"). About 1.5 minutes on 2 cores."""
import os
import subprocess
import sys

import ripentest as rt

result = subprocess.run([sys.executable, os.path.join(rt.SOURCE, "analysis", "doc_numbers.py"),
                         "check", "--rerun", "--ripen", rt.RIPEN, "--mpiexec", rt.MPIEXEC,
                         "--ranks", "2"], env=rt.environment(), capture_output=True, text=True,
                        timeout=1800)
print(result.stdout.strip())
print(result.stderr.strip())
rt.check(result.returncode == 0, f"documented numbers differ from a rerun (exit "
         f"{result.returncode})")
rt.finish("test_doc_numbers_rerun")
