#!/usr/bin/env bash
# Packs TaskLeak.Fody, TaskLeak.Testing, the test adapters (TaskLeak.NUnit, TaskLeak.Xunit, TaskLeak.MSTest),
# TaskLeak.AspNetCore and the dotnet-taskleak tool (Release) into a local folder feed, for use before they are on nuget.org, and prints the nuget.config line that makes a project
# restore from it. Every adapter depends on TaskLeak.Testing, so the feed must hold it too. NuGet keeps a restored
# version in its global packages folder for good, so this version's earlier copies are removed from there: the next
# restore takes this build.
# Usage: build/pack-local.sh [folder]   (default: artifacts/feed in this checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
feed=${1:-$root/artifacts/feed}
mkdir -p "$feed"
feed=$(cd "$feed" && pwd)
version=$(tr -d '[:space:]' < "$root/version.txt")
projects="TaskLeak TaskLeak.Testing TaskLeak.NUnit TaskLeak.Xunit TaskLeak.MSTest TaskLeak.AspNetCore TaskLeak.Tool"
packages="TaskLeak.Fody TaskLeak.Testing TaskLeak.NUnit TaskLeak.Xunit TaskLeak.MSTest TaskLeak.AspNetCore dotnet-taskleak"

for project in $projects; do
  dotnet pack "$root/src/$project/$project.csproj" -c Release -o "$feed" -nologo -v:q
done

cache=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')
if [ -n "$cache" ]; then
  for package in $packages; do rm -rf "${cache%/}/$(tr '[:upper:]' '[:lower:]' <<< "$package")/$version"; done
fi

cat <<EOF2
Packed $packages $version into $feed
Add this source to the nuget.config next to your solution (create it with: dotnet new nugetconfig):
    <add key="taskleak-local" value="$feed" />
then: dotnet add package TaskLeak.Fody --version $version
and one adapter for your test framework, e.g.: dotnet add package TaskLeak.NUnit --version $version
the tool: dotnet tool install dotnet-taskleak --version $version --tool-path ./tools --add-source $feed
EOF2
