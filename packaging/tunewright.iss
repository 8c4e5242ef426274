; Inno Setup script for Tunewright (UNTESTED: written on Linux). packaging\build_windows.ps1 runs it as
;     iscc /DAppVersion=0.1.0 /DFlavour=cpu /DRoot=C:\path\to\tunewright packaging\tunewright.iss
; after PyInstaller has built dist\tunewright\. Installs for the current user (no administrator needed),
; with a Start menu entry, an optional desktop icon and an uninstaller. The user's runs and models live in
; their own data folder and are not touched by uninstalling.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif
#ifndef Root
  #define Root ".."
#endif

[Setup]
AppId={{6C1E2B7A-3F4D-4B8E-9A51-7D2C0E9F4A13}
AppName=Tunewright
AppVersion={#AppVersion}
AppPublisher=Tunewright
DefaultDirName={autopf}\Tunewright
DefaultGroupName=Tunewright
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=tunewright-{#AppVersion}-windows-x64-{#Flavour}-setup
SetupIconFile={#Root}\build\icons\tunewright.ico
UninstallDisplayIcon={app}\tunewright.exe
Compression=lzma2/ultra64
SolidCompression=yes
LZMAUseSeparateProcess=yes
WizardStyle=modern
DisableProgramGroupPage=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\tunewright\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Tunewright"; Filename: "{app}\tunewright.exe"
Name: "{autodesktop}\Tunewright"; Filename: "{app}\tunewright.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\tunewright.exe"; Description: "{cm:LaunchProgram,Tunewright}"; Flags: nowait postinstall skipifsilent
