; Inno Setup 6 script for Inspector on Windows (64-bit).
;
; Build the bundle first, then compile this script (packaging/windows/build.ps1
; does both):
;   .venv\Scripts\python -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\inspector.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\inspector.iss
; giving dist\inspector-<version>-setup.exe. AppVersion must be passed in:
; build.ps1 reads it from inspector.__version__, the one place it is kept.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\inspector.iss
#endif
#define AppName "Inspector"
#define BundleDir "..\..\dist\inspector"

[Setup]
; A fixed AppId ties upgrades and the uninstaller to one product; never change it.
AppId={{6F1C7A52-3B7E-4E0B-9C55-1D2B8E4A9F31}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Inspector developers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user install by default (no admin prompt); the user may choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=inspector-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\inspector.ico
UninstallDisplayIcon={app}\inspector.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; inspector.exe (the window, no console), inspector-cli.exe (--version,
; --headless, --selftest in a terminal) and _internal\ with Python, Qt and
; resources\.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\inspector.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\inspector.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\inspector.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; Settings and the local CA live in the user's profile, not under {app}, so
; the uninstaller leaves them: a reinstall keeps the CA browsers already trust.
