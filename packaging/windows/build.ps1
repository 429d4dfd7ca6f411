# Builds Inspector's Windows installer: the PyInstaller bundle, then the
# Inno Setup script around it. Run from the repository root in PowerShell,
# with Python 3.11+ and Inno Setup 6 (iscc.exe) installed:
#
#   py -3.11 -m venv .venv; .venv\Scripts\python -m pip install -e .
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
#
# Result: dist\inspector-<version>-setup.exe
$ErrorActionPreference = "Stop"
$root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $root
$python = "$root\.venv\Scripts\python.exe"

& $python -m pip install -q --disable-pip-version-check -r packaging\requirements.txt
if ($LASTEXITCODE) { throw "pip failed" }
$version = & $python -c "import inspector; print(inspector.__version__)"

& $python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build\pyinstaller packaging\inspector.spec
if ($LASTEXITCODE) { throw "PyInstaller failed" }

# The console twin prints; the window executable has no console.
& dist\inspector\inspector-cli.exe --version
$env:QT_QPA_PLATFORM = "offscreen"
& dist\inspector\inspector-cli.exe --selftest
if ($LASTEXITCODE) { throw "selftest failed" }
Remove-Item Env:\QT_QPA_PLATFORM

$iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $iscc "/DAppVersion=$version" packaging\windows\inspector.iss
if ($LASTEXITCODE) { throw "Inno Setup failed" }
Write-Host "wrote dist\inspector-$version-setup.exe"
