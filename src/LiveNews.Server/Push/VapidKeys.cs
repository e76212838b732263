using System.Buffers.Text;
using System.Security.Cryptography;

namespace LiveNews.Server.Push;

/// <summary>The <c>vapid-keys</c> command: prints a new VAPID key pair (RFC 8292) for <c>Push:PublicKey</c> and <c>Push:PrivateKey</c>.</summary>
internal static class VapidKeys
{
    public const string Command = "vapid-keys";

    /// <summary>Runs the command when the arguments name it; false otherwise (the server starts).</summary>
    public static bool TryRun(string[] args)
    {
        if (args is not [Command, ..])
        {
            return false;
        }

        var (publicKey, privateKey) = Generate();
        Console.WriteLine($"Push__PublicKey={publicKey}");
        Console.WriteLine($"Push__PrivateKey={privateKey}");
        Console.Error.WriteLine("Set both, and Push__Subject (mailto: or https:); keep the private key in secrets.");
        return true;
    }

    /// <summary>A P-256 key pair: the uncompressed public point and the private scalar, base64url without padding.</summary>
    public static (string PublicKey, string PrivateKey) Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: true);
        return (Base64Url.EncodeToString([0x04, .. parameters.Q.X!, .. parameters.Q.Y!]), Base64Url.EncodeToString(parameters.D!));
    }
}
