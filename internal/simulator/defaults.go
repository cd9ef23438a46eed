package simulator

// The demo world of DefaultConfig. The ids are fixed (and fake) so that demo
// manifests and tests can name them.
const (
	// DemoTenantID is the commercial demo tenant (contoso.onmicrosoft.com) on
	// login.microsoftonline.com.
	DemoTenantID = "7e1c0a2b-5d4f-4e8a-9b3c-1f2e3d4c5b6a"
	// DemoTenantDomain is the verified domain of DemoTenantID.
	DemoTenantDomain = "contoso.onmicrosoft.com"
	// DemoClientID is the demo app: an application user of every demo environment.
	DemoClientID = "5f0c3e2a-8d1b-4c7e-a9f6-2b3d4e5f6a7b"
	// DemoClientSecret is the client secret of every demo app. It is a demo value,
	// published on purpose.
	DemoClientSecret = "sim~Contoso.Demo-Secret_0001" //nolint:gosec // a published demo value of the simulator
	// DemoUnlinkedClientID is an app of the demo tenant that is not an application
	// user anywhere: WhoAmI gives 403 0x80072560.
	DemoUnlinkedClientID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
	// DemoPublicClientID allows public client flows (password, device code).
	DemoPublicClientID = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
	// DemoUserUPN / DemoUserPassword: a user of the demo tenant and environment.
	DemoUserUPN      = "alice@contoso.onmicrosoft.com"
	DemoUserPassword = "Demo-Passw0rd!"
	// DemoMFAUserUPN has the same password but requires MFA (no password grant).
	DemoMFAUserUPN = "bob@contoso.onmicrosoft.com"
	// DemoEnvironmentHost is the commercial demo environment.
	DemoEnvironmentHost = "contoso.crm.dynamics.com"
	// DemoAdminServiceHost is the Online Management API host.
	DemoAdminServiceHost = "admin.services.crm.dynamics.com"

	// DemoGovTenantID is the US Government (GCC High) demo tenant on
	// login.microsoftonline.us, with DemoGovClientID and DemoGovEnvironmentHost.
	DemoGovTenantID        = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	DemoGovClientID        = "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"
	DemoGovEnvironmentHost = "contoso.crm.microsoftdynamics.us"

	// DemoChinaTenantID is the China (21Vianet) demo tenant on
	// login.partner.microsoftonline.cn, with DemoChinaClientID and
	// DemoChinaEnvironmentHost.
	DemoChinaTenantID        = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
	DemoChinaClientID        = "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a8b"
	DemoChinaEnvironmentHost = "contoso.crm.dynamics.cn"
)

// DefaultConfig returns the demo world: a commercial tenant with an app that is an
// application user of contoso.crm.dynamics.com (plus an app that is not, a public
// client app, a user and an MFA user), the admin service host, a US Government
// tenant and environment, and a China tenant and environment. Start it as is or
// change it first.
func DefaultConfig() Config {
	demoApp := func(clientID, name string) App {
		return App{ClientID: clientID, DisplayName: name, Secrets: []Secret{{Value: DemoClientSecret}}}
	}
	return Config{
		Tenants: []Tenant{
			{
				ID: DemoTenantID, Domain: DemoTenantDomain, DisplayName: "Contoso", AuthorityHost: "login.microsoftonline.com",
				Apps: []App{
					demoApp(DemoClientID, "d365-operator demo"),
					demoApp(DemoUnlinkedClientID, "not an application user"),
					{ClientID: DemoPublicClientID, DisplayName: "d365-operator login (public client)", AllowPublicClient: true},
				},
				Users: []User{
					{UserPrincipalName: DemoUserUPN, DisplayName: "Alice", Password: DemoUserPassword},
					{UserPrincipalName: DemoMFAUserUPN, DisplayName: "Bob", Password: DemoUserPassword, MFARequired: true},
				},
			},
			{
				ID: DemoGovTenantID, Domain: "contosogov.onmicrosoft.us", DisplayName: "Contoso Gov", AuthorityHost: "login.microsoftonline.us",
				Apps: []App{demoApp(DemoGovClientID, "d365-operator demo (GCC High)")},
			},
			{
				ID: DemoChinaTenantID, Domain: "contosocn.partner.onmschina.cn", DisplayName: "Contoso China", AuthorityHost: "login.partner.microsoftonline.cn",
				Apps: []App{demoApp(DemoChinaClientID, "d365-operator demo (China)")},
			},
		},
		Environments: []Environment{
			{
				Host: DemoEnvironmentHost, TenantID: DemoTenantID,
				OrganizationID: "00aa00aa-bb11-4c22-8d33-44ee44ee44ee", BusinessUnitID: "11bb11bb-cc22-4d33-8e44-55ff55ff55ff",
				ApplicationUsers: []ApplicationUser{{ClientID: DemoClientID, UserID: "22cc22cc-dd33-4e44-8f55-66aa66aa66aa",
					Privileges: []Privilege{{Name: "prvReadUser"}, {Name: "prvReadAccount"}, {Name: "prvCreateContact", Depth: "Local"}}}},
				Users: []EnvironmentUser{
					{ObjectID: derivedGUID("user", DemoTenantID, DemoUserUPN), UserID: "33dd33dd-ee44-4f55-8a66-77bb77bb77bb"},
					{ObjectID: derivedGUID("user", DemoTenantID, DemoMFAUserUPN)},
				},
			},
			{Host: DemoAdminServiceHost, TenantID: DemoTenantID, AdminService: true},
			{
				Host: DemoGovEnvironmentHost, TenantID: DemoGovTenantID,
				ApplicationUsers: []ApplicationUser{{ClientID: DemoGovClientID}},
			},
			{
				Host: DemoChinaEnvironmentHost, TenantID: DemoChinaTenantID,
				ApplicationUsers: []ApplicationUser{{ClientID: DemoChinaClientID}},
			},
		},
	}
}
