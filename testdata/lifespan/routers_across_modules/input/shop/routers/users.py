from fastapi import APIRouter

router = APIRouter(on_shutdown=[])


async def load_users():
    print("users up")


router.add_event_handler("startup", load_users)
