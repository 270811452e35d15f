; The Daypass installer for Windows (x64), built on Linux by installers/build.sh with makensis:
;   makensis -DVERSION=0.1.0 -DDIST=<windows-dist> -DDOCS=<docs> -DOUTFILE=<exe> -DSIGN=<command> daypass.nsi
; It installs the app, daypass-tunneld (registered as the "DaypassTunnel" service, LocalSystem,
; restarted on failure), the daypass CLI, wireguard.dll and WebView2Loader.dll into
; Program Files\Daypass, creates the local group "Daypass Users" whose members may use the service,
; and writes the app's managed settings (HKLM\SOFTWARE\Policies\Daypass) from its properties:
;   Daypass-Setup.exe /S /BROKERURL=https://daypass.example.com:8443 /BROKERKEY=<base64> [/DEVICE=<id>]
; Without /S it asks for the same three values. Group Policy (installers/windows/policy) may set
; the app's values instead; the service always takes them from here.

Unicode true
ManifestSupportedOS all
RequestExecutionLevel admin
SetCompressor /SOLID lzma

!include "MUI2.nsh"
!include "nsDialogs.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "x64.nsh"

!define PRODUCT "Daypass"
!define SERVICE "DaypassTunnel"
!define USERS_GROUP "Daypass Users"
!define POLICY_KEY "SOFTWARE\Policies\Daypass"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Daypass"
!define STATE_KEY "SOFTWARE\Daypass"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Daypass"
BrandingText "${PRODUCT} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "CompanyName" "Daypass"
VIAddVersionKey "FileDescription" "Daypass installer: just-in-time access for contractors"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Apache-2.0; third-party notices in THIRD-PARTY-NOTICES.txt"

; The uninstaller makensis writes is signed too (NSIS 3.08: %1 is its path).
!uninstfinalize '${SIGN} "%1"'

Var BrokerUrl
Var BrokerKey
Var Device
Var UrlField
Var KeyField
Var DeviceField

!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_LICENSE "${DOCS}\LICENSE"
Page custom BrokerPage BrokerPageLeave
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "Daypass needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  ${GetParameters} $R0
  ${GetOptions} $R0 "/BROKERURL=" $BrokerUrl
  ${GetOptions} $R0 "/BROKERKEY=" $BrokerKey
  ClearErrors
  ${GetOptions} $R0 "/DEVICE=" $Device
  ${If} ${Errors}
  ${OrIf} $Device == ""
    ReadEnvStr $Device COMPUTERNAME
  ${EndIf}
  ${If} ${Silent}
  ${AndIf} $BrokerUrl == ""
    ReadRegStr $BrokerUrl HKLM "${STATE_KEY}" "BrokerUrl"
    ReadRegStr $BrokerKey HKLM "${STATE_KEY}" "BrokerKey"
    ReadRegStr $Device HKLM "${STATE_KEY}" "Device"
  ${EndIf}
  ${If} ${Silent}
  ${AndIf} $BrokerUrl == ""
    SetErrorLevel 87 ; ERROR_INVALID_PARAMETER
    Abort "A silent install needs /BROKERURL=https://... and /BROKERKEY=<the broker's key>"
  ${EndIf}
FunctionEnd

Function BrokerPage
  !insertmacro MUI_HEADER_TEXT "Your company's Daypass broker" "IT gives you these two values."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 12u "Broker URL (https://...)"
  ${NSD_CreateText} 0 13u 100% 12u $BrokerUrl
  Pop $UrlField
  ${NSD_CreateLabel} 0 32u 100% 12u "Broker key (base64)"
  ${NSD_CreateText} 0 45u 100% 12u $BrokerKey
  Pop $KeyField
  ${NSD_CreateLabel} 0 64u 100% 12u "This device's id at the broker"
  ${NSD_CreateText} 0 77u 100% 12u $Device
  Pop $DeviceField
  nsDialogs::Show
FunctionEnd

Function BrokerPageLeave
  ${NSD_GetText} $UrlField $BrokerUrl
  ${NSD_GetText} $KeyField $BrokerKey
  ${NSD_GetText} $DeviceField $Device
  StrCpy $0 $BrokerUrl 8
  ${If} $0 != "https://"
    MessageBox MB_ICONEXCLAMATION "The broker URL must start with https://" /SD IDOK
    Abort
  ${EndIf}
  ${If} $BrokerKey == ""
  ${OrIf} $Device == ""
    MessageBox MB_ICONEXCLAMATION "The broker key and the device id are both needed." /SD IDOK
    Abort
  ${EndIf}
FunctionEnd

; Runs a command, logs what it printed, and stops the install when it fails.
!macro Run command what
  nsExec::ExecToLog '${command}'
  Pop $0
  ${If} $0 != 0
    SetErrorLevel 1603 ; ERROR_INSTALL_FAILURE
    Abort "${what} failed ($0): see the details above"
  ${EndIf}
!macroend

Section "Daypass" Main
  SetShellVarContext all
  ; An earlier version's service stops and is removed before its files are replaced.
  IfFileExists "$INSTDIR\daypass-tunneld.exe" 0 +3
    nsExec::ExecToLog '"$INSTDIR\daypass-tunneld.exe" service uninstall'
    Pop $0

  SetOutPath "$INSTDIR"
  File "${DIST}\daypass-desktop.exe"
  File "${DIST}\daypass-tunneld.exe"
  File "${DIST}\daypass.exe"
  File "${DIST}\wireguard.dll"
  File "${DIST}\WebView2Loader.dll"
  File "${DOCS}\LICENSE"
  File "${DOCS}\THIRD-PARTY-NOTICES.txt"
  File "${DOCS}\WIREGUARD-NT-LICENSE.txt"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Members of this local group may use the service (the pipe's DACL names its SID).
  nsExec::ExecToLog 'net localgroup "${USERS_GROUP}" /add /comment:"May use the Daypass tunnel service"'
  Pop $0
  nsExec::ExecToStack 'powershell.exe -NoProfile -NonInteractive -Command "(New-Object System.Security.Principal.NTAccount(\"${USERS_GROUP}\")).Translate([System.Security.Principal.SecurityIdentifier]).Value"'
  Pop $0
  Pop $1
  ${If} $0 != 0
    SetErrorLevel 1603
    Abort "Could not read the SID of the ${USERS_GROUP} group: $1"
  ${EndIf}
  StrCpy $1 $1 -2 ; the trailing CR LF

  !insertmacro Run '"$INSTDIR\daypass-tunneld.exe" service install --broker "$BrokerUrl" --broker-key "$BrokerKey" --device "$Device" --group $1' "Registering the ${SERVICE} service"

  ; The app's managed settings, and what a silent upgrade reuses.
  WriteRegStr HKLM "${POLICY_KEY}" "BrokerUrl" $BrokerUrl
  WriteRegStr HKLM "${POLICY_KEY}" "BrokerKey" $BrokerKey
  WriteRegStr HKLM "${STATE_KEY}" "BrokerUrl" $BrokerUrl
  WriteRegStr HKLM "${STATE_KEY}" "BrokerKey" $BrokerKey
  WriteRegStr HKLM "${STATE_KEY}" "Device" $Device

  CreateShortcut "$SMPROGRAMS\Daypass.lnk" "$INSTDIR\daypass-desktop.exe"

  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Daypass"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\daypass-desktop.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $0

  ; The app's window needs the WebView2 runtime (part of Windows 11; Windows 10 gets it from Edge).
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}" "pv"
  ${If} $0 == ""
    DetailPrint "The WebView2 runtime is missing: deploy it (Microsoft Edge WebView2 Evergreen) before opening Daypass."
  ${EndIf}
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  nsExec::ExecToLog '"$INSTDIR\daypass-tunneld.exe" service uninstall'
  Pop $0
  Delete "$SMPROGRAMS\Daypass.lnk"
  Delete "$INSTDIR\daypass-desktop.exe"
  Delete "$INSTDIR\daypass-tunneld.exe"
  Delete "$INSTDIR\daypass.exe"
  Delete "$INSTDIR\wireguard.dll"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\LICENSE"
  Delete "$INSTDIR\THIRD-PARTY-NOTICES.txt"
  Delete "$INSTDIR\WIREGUARD-NT-LICENSE.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  nsExec::ExecToLog 'net localgroup "${USERS_GROUP}" /delete'
  Pop $0
  DeleteRegValue HKLM "${POLICY_KEY}" "BrokerUrl"
  DeleteRegValue HKLM "${POLICY_KEY}" "BrokerKey"
  DeleteRegKey /ifempty HKLM "${POLICY_KEY}"
  DeleteRegKey HKLM "${STATE_KEY}"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
  ; C:\ProgramData\Daypass (the service's state; $APPDATA is ProgramData for "all")
  RMDir /r "$APPDATA\Daypass"
SectionEnd
