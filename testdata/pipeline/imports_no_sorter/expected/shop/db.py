from databases import Database

database = Database("sqlite:///shop.db")
