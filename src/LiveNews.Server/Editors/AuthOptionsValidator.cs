using System.Text;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Editors;

/// <summary>A bad auth setting stops the process at start-up, naming the setting.</summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (options.ApiKeyRecheckInterval < TimeSpan.FromSeconds(10) || options.ApiKeyRecheckInterval > TimeSpan.FromDays(1))
        {
            failures.Add("Auth:ApiKeyRecheckInterval must be between 10 seconds and 1 day.");
        }

        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            var setting = $"Auth:ApiKeys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                failures.Add($"{setting}:Name is required.");
            }
            else if (!names.Add(key.Name))
            {
                failures.Add($"{setting}:Name '{key.Name}' is used twice.");
            }

            if (key.KeySha256 is { } hash)
            {
                if (key.Key.Length > 0 || hash.Length != 64 || !hash.All(Uri.IsHexDigit))
                {
                    failures.Add($"{setting}:KeySha256 must be 64 hex digits, and then Key must be empty.");
                }
            }
            else if (key.Key.Length < 16)
            {
                failures.Add($"{setting}:Key must be at least 16 characters (or give KeySha256).");
            }

            foreach (var scope in key.Scopes)
            {
                if (!EditorScopes.All.Contains(scope))
                {
                    failures.Add($"{setting}:Scopes has unknown scope '{scope}' (use {string.Join(", ", EditorScopes.All)}).");
                }
            }
        }

        var jwt = options.Jwt;
        if (jwt.IsConfigured)
        {
            if (string.IsNullOrWhiteSpace(jwt.Issuer))
            {
                failures.Add("Auth:Jwt:Issuer is required when Auth:Jwt is configured.");
            }

            if (string.IsNullOrWhiteSpace(jwt.Audience))
            {
                failures.Add("Auth:Jwt:Audience is required when Auth:Jwt is configured.");
            }

            if (!string.IsNullOrEmpty(jwt.SigningKey) && Encoding.UTF8.GetByteCount(jwt.SigningKey) < 32)
            {
                failures.Add("Auth:Jwt:SigningKey must be at least 32 bytes.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
