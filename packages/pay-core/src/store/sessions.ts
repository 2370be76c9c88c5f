import { and, eq } from "drizzle-orm";
import type { Db } from "./db";
import { wxSessions } from "./schema";

/** The buyers' current WeChat session_key, by mini program and openid (server side only). */
export class WxSessions {
  constructor(private readonly db: Db) {}

  /** Saves the session_key from the buyer's latest login (it replaces any older one). */
  async save(appid: string, openid: string, sessionKey: string): Promise<void> {
    await this.db
      .insert(wxSessions)
      .values({ appid, openid, session_key: sessionKey })
      .onConflictDoUpdate({
        target: [wxSessions.appid, wxSessions.openid],
        set: { session_key: sessionKey, update_date: new Date() },
      });
  }

  /** The lookup the virtual-payment adapter signs with. */
  readonly lookup = async (appid: string, openid: string): Promise<string | undefined> => {
    const [row] = await this.db
      .select({ key: wxSessions.session_key })
      .from(wxSessions)
      .where(and(eq(wxSessions.appid, appid), eq(wxSessions.openid, openid)));
    return row?.key;
  };
}
