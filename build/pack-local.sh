#!/usr/bin/env bash
# Packs TaskLeak.Fody and TaskLeak.NUnit (Release) into a local folder feed, for use before they are on nuget.org,
# and prints the nuget.config line that makes a project restore from it. NuGet keeps a restored version in its global
# packages folder for good, so this version's earlier copies are removed from there: the next restore takes this build.
# Usage: build/pack-local.sh [folder]   (default: artifacts/feed in this checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
feed=${1:-$root/artifacts/feed}
mkdir -p "$feed"
feed=$(cd "$feed" && pwd)
version=$(tr -d '[:space:]' < "$root/version.txt")

dotnet pack "$root/src/TaskLeak/TaskLeak.csproj" -c Release -o "$feed" -nologo -v:q
dotnet pack "$root/src/TaskLeak.NUnit/TaskLeak.NUnit.csproj" -c Release -o "$feed" -nologo -v:q

cache=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')
[ -n "$cache" ] && rm -rf "$cache/taskleak.fody/$version" "$cache/taskleak.nunit/$version"

cat <<EOF
Packed TaskLeak.Fody $version and TaskLeak.NUnit $version into $feed
Add this source to the nuget.config next to your solution (create it with: dotnet new nugetconfig):
    <add key="taskleak-local" value="$feed" />
then: dotnet add package TaskLeak.Fody --version $version
EOF
